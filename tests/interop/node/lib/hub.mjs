// A connection to the hub over mTLS, with message types learned by reflection and every call
// authenticated with a freshly minted token, tagged with an x-request-id, and decoded on error.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor/index.js'; // adds Root.fromDescriptor
import { reflect } from './reflection.mjs';
import { loadPrivateKey, mintToken } from './token.mjs';

// How reflected messages become JavaScript: field names as in the .proto, enums as names, 64-bit
// integers as strings, bytes as base64 strings (JSON-friendly), absent scalars as their defaults.
export const MESSAGE_OPTIONS = { keepCase: true, longs: String, enums: String, bytes: String, defaults: true, oneofs: true };
export const STATUS_SYMBOLS = ['google.rpc.Status', 'google.rpc.ErrorInfo', 'google.rpc.BadRequest', 'google.rpc.LocalizedMessage'];

/** The gRPC status name for a numeric code (grpc.status maps names to numbers). */
export function statusName(code) {
  return Object.keys(grpc.status).find((name) => grpc.status[name] === code) ?? `CODE_${code}`;
}

/** A short random x-request-id within the hub's rule: at most 64 of [A-Za-z0-9._:-]. */
export function newRequestId(prefix = 'node') {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export class Hub {
  /**
   * Connect to `address` with the department's client certificate, and learn the API by reflection.
   * `serverName` overrides the name checked in the hub's certificate (default: the host of `address`).
   */
  static async connect({ address, ca, cert, key, serverName, reflection = 'v1', department, officer, tokenKey, audience }) {
    const credentials = grpc.credentials.createSsl(readFileSync(ca), readFileSync(key), readFileSync(cert));
    const options = serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {};
    const channel = new grpc.Channel(address, credentials, options);
    const described = await reflect(channel, reflection, { extraSymbols: STATUS_SYMBOLS });
    return new Hub({ channel, credentials, described, identity: { department, officer, key: loadPrivateKey(readFileSync(tokenKey)), audience } });
  }

  constructor({ channel, credentials, described, identity }) {
    this.channel = channel;
    this.credentials = credentials;
    this.services = described.services;
    this.files = described.files;
    this.identity = identity;
    this.definition = protoLoader.loadFileDescriptorSetFromBuffer(described.descriptorSet, MESSAGE_OPTIONS);
    this.root = protobuf.Root.fromDescriptor(described.descriptorSet);
    this.clients = new Map();
  }

  /** A client for a fully qualified service name, sharing this connection. */
  client(service) {
    if (!this.clients.has(service)) {
      const definition = this.definition[service];
      if (!definition || definition.format) throw new Error(`the hub does not describe a service ${service}`);
      const Client = grpc.makeClientConstructor(definition, service);
      this.clients.set(service, new Client('unused', this.credentials, { channelOverride: this.channel }));
    }
    return this.clients.get(service);
  }

  /**
   * Call `service`/`method` with `request` (a plain object). Resolves with {ok, requestId, response}
   * on success and {ok: false, requestId, error} on a gRPC error, `requestId` being the hub's x-request-id.
   * `token: false` sends no authorization (health checking); `token` as a string sends that token.
   */
  async call(service, method, request, { token = true, requestId = newRequestId(), deadlineMs = 10_000 } = {}) {
    const metadata = new grpc.Metadata();
    if (token === true) token = await this.mintToken();
    if (token) metadata.set('authorization', `Bearer ${token}`);
    if (requestId) metadata.set('x-request-id', requestId);
    const client = this.client(service);
    if (typeof client[method] !== 'function') throw new Error(`${service} has no method ${method}`);
    return new Promise((resolve) => {
      let headers = null;
      const call = client[method](request, metadata, { deadline: Date.now() + deadlineMs }, (error, response) => {
        const returned = (md) => md?.get('x-request-id')?.[0]?.toString() ?? null;
        const id = returned(headers) ?? returned(error?.metadata);
        resolve(error ? { ok: false, requestId: id, sent: requestId, error: this.decodeError(error) } : { ok: true, requestId: id, sent: requestId, response });
      });
      call.on('metadata', (md) => {
        headers = md;
      });
    });
  }

  /** A token for this connection's department and officer, with a fresh jti. */
  mintToken(overrides = {}) {
    return mintToken({ ...this.identity, ...overrides });
  }

  /** A gRPC error as JSON: code, message, and the google.rpc.Status from grpc-status-details-bin. */
  decodeError(error) {
    const result = { code: error.code, status: statusName(error.code), message: error.details, reason: null, domain: null, metadata: {}, violations: [], details: [] };
    const raw = error.metadata?.get('grpc-status-details-bin')?.[0];
    if (!raw) return result;
    const Status = this.root.lookupType('google.rpc.Status');
    const status = Status.decode(Buffer.from(raw));
    result.detailsCode = status.code;
    for (const any of status.details) {
      const typeName = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
      const type = this.root.lookupType(typeName);
      const detail = type.toObject(type.decode(any.value), MESSAGE_OPTIONS);
      result.details.push({ type: typeName, ...detail });
      if (typeName === 'google.rpc.ErrorInfo') {
        // A map<string, string> reflected as descriptors arrives as its repeated entry messages.
        detail.metadata = Array.isArray(detail.metadata) ? Object.fromEntries(detail.metadata.map((e) => [e.key, e.value])) : detail.metadata;
        Object.assign(result, { reason: detail.reason, domain: detail.domain, metadata: detail.metadata });
      }
      if (typeName === 'google.rpc.BadRequest') result.violations = detail.field_violations;
    }
    return result;
  }

  close() {
    this.channel.close();
  }
}
