#!/usr/bin/env node
// The conformance run: an independent client drives a real hub and prints what each step saw, as JSON.
//
//   node conformance.mjs --hub 127.0.0.1:50051 --ca ca.crt --cert SAMR.crt --key SAMR.key \
//     --department SAMR --officer li.wei --token-key samr-token.key \
//     --service-item restaurant_permit --applicant 91110105MA01XXXXXX \
//     --parties legal_representative:110101199003070011 \
//     --dataset business_licence --document-key 91110105MA01XXXXXX \
//     --refused-dataset identity_record --refused-key 110101199003070011
//
// Steps: reflection (v1 and v1alpha list the services; the chosen version describes them), health
// checking, ListDatasets, CreateCase (with its parties), Fetch, and a Fetch the hub must refuse (and,
// with --stranger-key, one about a subject not on the case), whose status details (google.rpc.Status
// with ErrorInfo) are decoded. Every call sends an x-request-id and reports the
// one the hub returned.
import { Hub, statusName } from './lib/hub.mjs';
import { readOptions } from './lib/options.mjs';
import { reflect, VERSIONS } from './lib/reflection.mjs';

const SPEC = {
  hub: { help: 'host:port of the hub', required: true },
  ca: { help: "PEM file of the hub's CA", required: true },
  cert: { help: "PEM file of the department's client certificate", required: true },
  key: { help: "PEM file of the client certificate's private key", required: true },
  'server-name': { help: "name to check in the hub's certificate (default: the host of --hub)" },
  department: { help: 'the department code (token iss; must match the certificate)', required: true },
  officer: { help: 'the officer id (token sub)', required: true },
  'token-key': { help: "PKCS#8 PEM file of the department's registered token key", required: true },
  'hub-name': { help: "the hub's name (token aud)", default: 'exchange-hub' },
  reflection: { help: `reflection version used to describe the API: ${VERSIONS.join(' or ')}`, default: 'v1' },
  'service-item': { help: 'service item of the case to open', required: true },
  applicant: { help: 'applicant id of the case', required: true },
  'applicant-kind': { help: 'organisation or person', default: 'organisation' },
  parties: { help: 'other parties of the case, RELATION:ID[,RELATION:ID...] (e.g. legal_representative:1101...)', default: '' },
  dataset: { help: 'dataset to fetch', required: true },
  'document-key': { help: 'key of the document to fetch', required: true },
  'refused-dataset': { help: 'dataset whose fetch the hub must refuse', required: true },
  'refused-key': { help: 'key for the refused fetch', required: true },
  'stranger-key': { help: 'optional: a key of --dataset whose subject is not on the case (refused too)' },
};

/** `RELATION:ID,...` as CaseParty messages. */
function parseParties(text) {
  return text
    .split(',')
    .filter(Boolean)
    .map((item) => {
      const [relation, party_id] = item.split(':');
      if (!relation || !party_id) throw new Error(`--parties: expected RELATION:ID, got ${item}`);
      return { relation, party_id };
    });
}

const CATALOG = 'exchange.v1.CatalogService';
const CASES = 'exchange.v1.CaseService';
const EXCHANGE = 'exchange.v1.ExchangeService';
const HEALTH = 'grpc.health.v1.Health';

/** What the client saw of one call: the hub's x-request-id and either the answer or the decoded error. */
function seen(result, answer) {
  return result.ok
    ? { ok: true, requestId: result.requestId, sentRequestId: result.sent, ...answer(result.response) }
    : { ok: false, requestId: result.requestId, sentRequestId: result.sent, error: result.error };
}

async function main() {
  const options = readOptions(SPEC);
  const hub = await Hub.connect({
    address: options.hub,
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    serverName: options['server-name'],
    reflection: options.reflection,
    department: options.department,
    officer: options.officer,
    tokenKey: options['token-key'],
    audience: options['hub-name'],
  });
  try {
    const report = { reflection: { version: options.reflection, files: hub.files } };
    for (const version of VERSIONS) report.reflection[version] = (await reflect(hub.channel, version)).services;

    const health = {};
    for (const service of ['', EXCHANGE]) {
      const result = await hub.call(HEALTH, 'Check', { service }, { token: false });
      health[service || 'overall'] = seen(result, (r) => ({ status: r.status }));
    }
    report.health = health;

    const listed = await hub.call(CATALOG, 'ListDatasets', { page: { page_size: 100 } });
    report.catalog = seen(listed, (r) => ({
      datasets: r.datasets.map((d) => ({ code: d.code, owner: d.owner, version: d.version })),
    }));

    const opened = await hub.call(CASES, 'CreateCase', {
      service_item: options['service-item'],
      applicant_id: options.applicant,
      applicant_kind: options['applicant-kind'],
      title: 'interoperability check',
      parties: parseParties(options.parties),
    });
    report.case = seen(opened, (r) => ({
      id: r.case.id,
      state: r.case.state,
      serviceItem: r.case.service_item,
      parties: r.case.parties.map((p) => ({ relation: p.relation, id: p.party_id })),
    }));
    const caseId = opened.ok ? opened.response.case.id : '';

    const fetched = await hub.call(EXCHANGE, 'Fetch', {
      dataset: options.dataset,
      key: options['document-key'],
      purpose: { case_id: caseId, service_item: options['service-item'], note: 'interoperability check' },
    });
    report.fetch = seen(fetched, (r) => ({
      document: JSON.parse(Buffer.from(r.document_json, 'base64').toString('utf8')),
      fields: r.fields,
      provenance: { issuer: r.provenance.issuer, dataset: r.provenance.dataset, kid: r.provenance.kid, signed: r.provenance.signature.length > 0 },
      receipt: { index: r.receipt.log_index, origin: r.receipt.log_origin, leafHash: Buffer.from(r.receipt.leaf_hash, 'base64').toString('hex') },
      bodyRequestId: r.request_id,
    }));

    const refused = await hub.call(EXCHANGE, 'Fetch', {
      dataset: options['refused-dataset'],
      key: options['refused-key'],
      purpose: { case_id: caseId, service_item: options['service-item'] },
    });
    report.refusal = seen(refused, () => ({}));

    if (options['stranger-key']) {
      const stranger = await hub.call(EXCHANGE, 'Fetch', {
        dataset: options.dataset,
        key: options['stranger-key'],
        purpose: { case_id: caseId, service_item: options['service-item'] },
      });
      report.stranger = seen(stranger, () => ({}));
    }

    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    hub.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${JSON.stringify({ error: error.message, code: error.code ?? null, status: error.code === undefined ? null : statusName(error.code) })}\n`);
  process.exit(1);
});
