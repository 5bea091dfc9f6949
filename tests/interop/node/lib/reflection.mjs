// A server reflection client (grpc.reflection.v1 or v1alpha) that collects the hub's descriptors, so
// that every other message is built from what the server says about itself, not from our .proto files.
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';

export const VERSIONS = ['v1', 'v1alpha'];
const PROTOS = fileURLToPath(new URL('../protos/', import.meta.url));

/** The ServerReflection client constructor for `version`, from the vendored reflection protocol. */
function reflectionClient(version) {
  if (!VERSIONS.includes(version)) throw new Error(`reflection version must be one of ${VERSIONS}, got ${version}`);
  const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
    includeDirs: [PROTOS],
    keepCase: true,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).grpc.reflection[version].ServerReflection;
}

/** One reflection conversation: ask(request) resolves with the matching response, in order. */
class Conversation {
  constructor(stream) {
    this.stream = stream;
    this.waiting = [];
    this.failure = null;
    stream.on('data', (response) => this.waiting.shift()?.resolve(response));
    stream.on('error', (error) => this.fail(error));
    stream.on('end', () => this.fail(new Error('the reflection stream ended early')));
  }

  fail(error) {
    this.failure ??= error;
    for (const { reject } of this.waiting.splice(0)) reject(error);
  }

  ask(request) {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.stream.write(request);
    });
  }

  async files(request, what) {
    const response = await this.ask(request);
    if (response.message_response !== 'file_descriptor_response') {
      const error = response.error_response;
      throw new Error(`reflection has no ${what}: ${error?.error_message ?? response.message_response} (${error?.error_code})`);
    }
    return response.file_descriptor_response.file_descriptor_proto;
  }

  close() {
    this.stream.end();
  }
}

/** Serialized FileDescriptorProtos put dependencies first, as a FileDescriptorSet expects. */
function inDependencyOrder(files) {
  const ordered = [];
  const visit = (name, path = []) => {
    if (ordered.some((f) => f.name === name)) return;
    if (path.includes(name)) throw new Error(`descriptor import cycle: ${[...path, name].join(' -> ')}`);
    const file = files.get(name);
    for (const dependency of file.parsed.dependency ?? []) visit(dependency, [...path, name]);
    ordered.push(file);
  };
  for (const name of files.keys()) visit(name);
  return ordered;
}

/** A FileDescriptorSet (field 1: repeated FileDescriptorProto) as bytes, written by hand. */
function fileDescriptorSet(serializedFiles) {
  const parts = [];
  for (const bytes of serializedFiles) {
    const length = [];
    for (let n = bytes.length; ; n >>>= 7) {
      if (n < 0x80) {
        length.push(n);
        break;
      }
      length.push((n & 0x7f) | 0x80);
    }
    parts.push(Buffer.from([0x0a, ...length]), Buffer.from(bytes));
  }
  return Buffer.concat(parts);
}

/**
 * Ask the server at `channel` for its services and the files defining them and `extraSymbols`
 * (with every import). Returns {services, descriptorSet}: the set's bytes feed proto-loader and protobufjs.
 */
export async function reflect(channel, version, { extraSymbols = [], deadlineMs = 10_000 } = {}) {
  const Client = reflectionClient(version);
  const client = new Client('unused', grpc.credentials.createInsecure(), { channelOverride: channel });
  const conversation = new Conversation(client.ServerReflectionInfo({ deadline: Date.now() + deadlineMs }));
  try {
    const listed = await conversation.ask({ list_services: '' });
    if (listed.message_response !== 'list_services_response') {
      throw new Error(`reflection ${version} did not list services: ${JSON.stringify(listed.error_response)}`);
    }
    const services = listed.list_services_response.service.map((s) => s.name).sort();
    const files = new Map();
    const add = (serialized) => {
      for (const bytes of serialized) {
        const parsed = descriptor.FileDescriptorProto.decode(bytes);
        if (!files.has(parsed.name)) files.set(parsed.name, { name: parsed.name, bytes, parsed });
      }
    };
    for (const symbol of [...services, ...extraSymbols]) {
      add(await conversation.files({ file_containing_symbol: symbol }, `symbol ${symbol}`));
    }
    // A server may answer with the file alone; fetch any import it left out.
    for (let missing = missingImports(files); missing.length; missing = missingImports(files)) {
      for (const name of missing) add(await conversation.files({ file_by_filename: name }, `file ${name}`));
    }
    const ordered = inDependencyOrder(files);
    return { services, files: ordered.map((f) => f.name), descriptorSet: fileDescriptorSet(ordered.map((f) => f.bytes)) };
  } finally {
    conversation.close(); // not client.close(): that would close the shared channel
  }
}

function missingImports(files) {
  const wanted = new Set([...files.values()].flatMap((f) => f.parsed.dependency ?? []));
  return [...wanted].filter((name) => !files.has(name));
}
