// Prints Backstage's verdict on each descriptor file given as an argument,
// as one JSON line per file: {"file", "yamlError"?, "entities": [{"valid", "error"?}]}.
// It reads files as the catalog backend does (yaml parseAllDocuments, empty
// and null documents skipped) and validates each entity with the default
// entity policies, the built-in kind validators and the v1beta3 Template
// validator. $text placeholders stand for a string, $json/$yaml for an empty
// object, or an empty array where the schema rejects an object: the same rule
// as Paved's ValidateAssumingPlaceholders.
'use strict';
const fs = require('fs');
const yaml = require('yaml');
const model = require('@backstage/catalog-model');
const { templateEntityV1beta3Validator } = require('@backstage/plugin-scaffolder-common');

const policy = model.EntityPolicies.allOf([
  new model.DefaultNamespaceEntityPolicy(),
  new model.NoForeignRootFieldsEntityPolicy(),
  new model.FieldFormatEntityPolicy(),
  new model.SchemaValidEntityPolicy(),
]);
const kindValidators = [
  model.apiEntityV1alpha1Validator, model.componentEntityV1alpha1Validator,
  model.domainEntityV1alpha1Validator, model.groupEntityV1alpha1Validator,
  model.locationEntityV1alpha1Validator, model.resourceEntityV1alpha1Validator,
  model.systemEntityV1alpha1Validator, model.userEntityV1alpha1Validator,
  templateEntityV1beta3Validator,
];

function placeholderOf(v) {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1 || !['$text', '$json', '$yaml'].includes(keys[0]) || typeof v[keys[0]] !== 'string') return undefined;
  return keys[0];
}

function resolve(v, ptr, arrays) {
  const kind = placeholderOf(v);
  if (kind === '$text') return `(content of ${v[kind]})`;
  if (kind) return arrays.has(ptr) ? [] : {};
  if (Array.isArray(v)) return v.map((c, i) => resolve(c, `${ptr}/${i}`, arrays));
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, c] of Object.entries(v)) out[k] = resolve(c, `${ptr}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, arrays);
    return out;
  }
  return v;
}

function at(v, ptr) {
  for (const part of ptr.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = v[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return v;
}

async function validate(entity) {
  const out = await policy.enforce(entity);
  for (const v of kindValidators) {
    if (await v.check(out)) return;
  }
  throw new Error(`Unsupported kind ${entity.kind}`);
}

async function judge(raw) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { valid: false, error: 'not an object' };
  const arrays = new Set();
  for (;;) {
    try {
      await validate(resolve(raw, '', arrays));
      return { valid: true };
    } catch (e) {
      const m = /(\/\S*) must be array/.exec(String(e.message));
      if (m && !arrays.has(m[1]) && placeholderOf(at(raw, m[1]))) { arrays.add(m[1]); continue; }
      return { valid: false, error: String(e.message) };
    }
  }
}

(async () => {
  for (const file of process.argv.slice(2)) {
    const docs = yaml.parseAllDocuments(fs.readFileSync(file, 'utf8'));
    const bad = docs.find(d => d.errors.length > 0);
    if (bad) { console.log(JSON.stringify({ file, yamlError: bad.errors[0].message })); continue; }
    const entities = [];
    for (const d of docs) {
      const v = d.toJS();
      if (v === null || v === undefined) continue;
      entities.push(await judge(v));
    }
    console.log(JSON.stringify({ file, entities }));
  }
})().catch(e => { console.error(e); process.exit(1); });
