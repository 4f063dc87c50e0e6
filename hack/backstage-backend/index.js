// A minimal real Backstage backend (new backend system) with the catalog
// and the scaffolder from npm, for tests that compare Paved with Backstage.
// Configuration comes from the app-config file(s) given with --config.
const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();
backend.add(require('@backstage/plugin-catalog-backend'));
backend.add(require('@backstage/plugin-scaffolder-backend'));
backend.start();
