// Package schema embeds the JSON Schemas of the Backstage entity format,
// copied verbatim (pretty-printed) from @backstage/catalog-model 1.10.1 and
// @backstage/plugin-scaffolder-common 2.3.0 (Apache-2.0, The Backstage
// Authors), so Paved accepts exactly the entities Backstage accepts.
package schema

import "embed"

// Files holds *.schema.json.
//
//go:embed *.schema.json
var Files embed.FS
