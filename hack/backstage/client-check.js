// Drives a running Paved through Backstage's own @backstage/catalog-client
// and prints what each call returned as one JSON object, for the Go test
// (cmd/paved/catalog_client_test.go) to check.
// Usage: node client-check.js <base URL of /api/catalog> <location file>
'use strict';
const { CatalogClient } = require('@backstage/catalog-client');

const [baseUrl, locationFile] = process.argv.slice(2);
const client = new CatalogClient({
  discoveryApi: { getBaseUrl: async () => baseUrl },
  fetchApi: { fetch },
});

const sleep = ms => new Promise(r => setTimeout(r, ms));

(async () => {
  const out = {};
  const added = await client.addLocation({ type: 'file', target: locationFile });
  out.addLocation = { type: added.location.type, target: added.location.target, hasId: !!added.location.id };

  // The first refresh runs on the job queue: wait for it.
  let components = [];
  for (let i = 0; i < 300 && components.length < 3; i++) {
    components = (await client.getEntities({ filter: { kind: 'component' }, fields: ['metadata.name'] })).items;
    if (components.length < 3) await sleep(100);
  }
  out.getEntities = components.map(e => e.metadata.name).sort();

  const payments = await client.getEntityByRef('component:default/payments');
  out.getEntityByRef = {
    name: payments.metadata.name,
    owner: payments.spec.owner,
    relations: payments.relations.map(r => `${r.type} ${r.targetRef}`).sort(),
  };
  out.getEntityByRefMissing = (await client.getEntityByRef('component:default/nope')) === undefined;

  const pages = [];
  let page = await client.queryEntities({ filter: { kind: 'component' }, orderFields: { field: 'metadata.name', order: 'asc' }, limit: 2 });
  out.queryTotal = page.totalItems;
  for (;;) {
    pages.push(page.items.map(e => e.metadata.name));
    if (!page.pageInfo.nextCursor) break;
    page = await client.queryEntities({ cursor: page.pageInfo.nextCursor, limit: 2 });
  }
  out.queryPages = pages;

  const facets = await client.getEntityFacets({ facets: ['spec.type'], filter: { kind: 'component' } });
  out.facets = facets.facets['spec.type'];

  const valid = await client.validateEntity(
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'ok' }, spec: { type: 'service', lifecycle: 'production', owner: 'team-a' } },
    'url:https://example.com/catalog-info.yaml');
  const invalid = await client.validateEntity(
    { apiVersion: 'backstage.io/v1alpha1', kind: 'Component', metadata: { name: 'Not Valid' }, spec: { type: 'service' } },
    'url:https://example.com/catalog-info.yaml');
  out.validateEntity = { valid: valid.valid, invalid: invalid.valid, errors: invalid.errors.length > 0 && invalid.errors.every(e => e.name && e.message) };

  const ledger = await client.getEntityByRef('component:default/ledger');
  await client.removeEntityByUid(ledger.metadata.uid);
  out.removed = (await client.getEntityByRef('component:default/ledger')) === undefined;

  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
