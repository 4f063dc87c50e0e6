// Package catalog will hold the Backstage-compatible service catalog: the
// entity model, entity references, validation, relations, the filter and
// query language, the store, and ingestion of locations from git. Nothing is
// here yet.
package catalog
