package catalog

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/paved-dev/paved/internal/database"
	"gorm.io/gorm"
)

// Emitted is what one read of a location produced.
type Emitted struct {
	// Entities are the valid descriptors, in file order.
	Entities []Raw
	// Sources name, by entity ref, the file each entity came from
	// ("file:/srv/catalog/a.yaml", "url:https://..."), for its
	// backstage.io/managed-by-location annotation; absent, the location.
	Sources map[string]string
	// Failed are descriptors that did not validate but name an entity; the
	// stored entity keeps its last good version and carries the errors.
	Failed []FailedEntity
}

// FailedEntity is a descriptor that failed validation.
type FailedEntity struct {
	Ref    Ref
	Errors []FieldError
}

// ApplyResult counts what ApplyLocation changed.
type ApplyResult struct {
	Added, Updated, Unchanged, Orphaned, Deleted int
	// Conflicts names entities another location already provides; they
	// were not taken over.
	Conflicts []string
}

// ApplyOptions tune ApplyLocation.
type ApplyOptions struct {
	// DeleteOrphans deletes entities the location no longer emits instead of
	// keeping them marked with the backstage.io/orphan annotation.
	DeleteOrphans bool
}

// ApplyLocation makes the catalog reflect what loc emitted, in one
// transaction: new entities are added, changed ones updated (unchanged
// content is skipped by hash), ones that loc no longer emits are orphaned or
// deleted, and entities claimed by another location are left to it and
// reported as conflicts.
func (s *Store) ApplyLocation(ctx context.Context, loc *Location, em Emitted, opts ApplyOptions) (ApplyResult, error) {
	var res ApplyResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		res, err = s.applyTx(tx, loc, em, opts)
		return err
	})
	if err == nil && res.Added+res.Updated+res.Orphaned+res.Deleted >= analyzeAfter {
		s.analyze(ctx)
	}
	return res, err
}

// analyzeAfter is how many changed entities make an apply a bulk write,
// after which PostgreSQL's planner statistics are refreshed at once: with
// none (a first import) it estimated a few rows where there were
// thousands and chose nested loops that took seconds per facet request,
// until autovacuum got round to it.
const analyzeAfter = 500

// analyze refreshes the planner's statistics of the catalog tables on
// PostgreSQL (SQLite plans from its indexes alone). A failure only costs
// speed until autovacuum analyzes, so it is not an error.
func (s *Store) analyze(ctx context.Context) {
	if s.dialect != database.Postgres {
		return
	}
	_ = s.db.WithContext(ctx).Exec("ANALYZE catalog_entities, catalog_search, catalog_relations").Error
}

// applyTx is ApplyLocation inside the caller's transaction.
func (s *Store) applyTx(tx *gorm.DB, loc *Location, em Emitted, opts ApplyOptions) (ApplyResult, error) {
	var res ApplyResult
	existing, err := s.entitiesByRef(tx, refsOf(em.Entities))
	if err != nil {
		return res, err
	}
	var writes []pending
	seen := map[string]bool{}
	for _, raw := range em.Entities {
		p, outcome := s.plan(raw, loc, em.Sources[raw.Ref().String()], existing, seen)
		switch outcome {
		case outcomeConflict:
			res.Conflicts = append(res.Conflicts, raw.Ref().String())
			continue
		case outcomeUnchanged:
			res.Unchanged++
			continue
		case outcomeAdded:
			res.Added++
		case outcomeUpdated:
			res.Updated++
		}
		writes = append(writes, p)
	}
	if err := writeEntities(tx, writes); err != nil {
		return res, err
	}
	if err := s.recordFailures(tx, loc, em.Failed); err != nil {
		return res, err
	}
	for _, f := range em.Failed {
		seen[f.Ref.String()] = true // still emitted, only broken: not an orphan
	}
	err = s.orphan(tx, loc, seen, opts, &res)
	return res, err
}

type outcome int

const (
	outcomeAdded outcome = iota
	outcomeUpdated
	outcomeUnchanged
	outcomeConflict
)

// plan decides what to do with one emitted descriptor.
func (s *Store) plan(raw Raw, loc *Location, source string, existing map[string]*entityRow, seen map[string]bool) (pending, outcome) {
	ref := raw.Ref().String()
	if seen[ref] {
		return pending{}, outcomeConflict // the same entity twice in one location: the first wins
	}
	seen[ref] = true
	raw = annotateLocation(raw, loc, source)
	hash := contentHash(raw)
	edges, _ := Edges(raw) // descriptors with unparsable refs never get here: readFile fails them
	now := s.Now()
	row := existing[ref]
	switch {
	case row == nil:
		return pending{&entityRow{UID: newID(), Ref: ref, LocationID: &loc.ID, Etag: newID(), Hash: hash, CreatedAt: now, UpdatedAt: now}, raw, edges}, outcomeAdded
	case row.LocationID != nil && *row.LocationID != loc.ID && !row.Orphan:
		return pending{}, outcomeConflict
	case row.Hash == hash && !row.Orphan && row.Status == "" && row.LocationID != nil:
		return pending{}, outcomeUnchanged
	}
	row.LocationID, row.Hash, row.Etag, row.Orphan, row.Status, row.UpdatedAt = &loc.ID, hash, newID(), false, "", now
	return pending{row, raw, edges}, outcomeUpdated
}

// annotateLocation records where the entity came from, as Backstage
// does: managed-by-location is the file that emitted it (source), and
// managed-by-origin-location the registered location it was found from.
func annotateLocation(raw Raw, loc *Location, source string) Raw {
	raw = Raw(deepCopy(map[string]any(raw)).(map[string]any))
	meta := raw.Metadata()
	ann, _ := meta["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	origin := loc.Type + ":" + loc.PublicTarget()
	if source == "" {
		source = origin
	}
	ann[AnnotationLocation] = source
	if _, ok := ann[AnnotationOriginLocation]; !ok {
		ann[AnnotationOriginLocation] = origin
	}
	return raw
}

func refsOf(raws []Raw) []string {
	refs := make([]string, len(raws))
	for i, r := range raws {
		refs[i] = r.Ref().String()
	}
	return refs
}

// entitiesByRef loads the stored rows for refs, in chunks.
func (s *Store) entitiesByRef(tx *gorm.DB, refs []string) (map[string]*entityRow, error) {
	out := make(map[string]*entityRow, len(refs))
	for start := 0; start < len(refs); start += batchSize {
		var rows []*entityRow
		chunk := refs[start:min(start+batchSize, len(refs))]
		if err := tx.Where("ref IN ?", chunk).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("load entities: %w", err)
		}
		for _, r := range rows {
			out[r.Ref] = r
		}
	}
	return out, nil
}

// recordFailures keeps the last good version of each failed entity and
// attaches the errors to its status.
func (s *Store) recordFailures(tx *gorm.DB, loc *Location, failed []FailedEntity) error {
	for _, f := range failed {
		items := make([]StatusItem, len(f.Errors))
		for i, e := range f.Errors {
			items[i] = StatusItem{Type: "backstage.io/catalog-processing", Level: "error", Message: e.String(),
				Error: &StatusItemText{Name: "InputError", Message: e.String()}}
		}
		status, _ := json.Marshal(Status{Items: items})
		err := tx.Model(&entityRow{}).Where("ref = ? AND location_id = ?", f.Ref.String(), loc.ID).
			Update("status", string(status)).Error
		if err != nil {
			return fmt.Errorf("record errors of %s: %w", f.Ref, err)
		}
	}
	return nil
}

// orphan marks (or deletes) the location's entities it did not emit now.
func (s *Store) orphan(tx *gorm.DB, loc *Location, seen map[string]bool, opts ApplyOptions, res *ApplyResult) error {
	var rows []*entityRow
	if err := tx.Where("location_id = ? AND orphan = ?", loc.ID, false).Find(&rows).Error; err != nil {
		return err
	}
	var gone []pending
	for _, r := range rows {
		if seen[r.Ref] {
			continue
		}
		if opts.DeleteOrphans {
			if err := deleteEntities(tx, []int64{r.ID}); err != nil {
				return err
			}
			res.Deleted++
			continue
		}
		var raw Raw
		if err := json.Unmarshal([]byte(r.Body), &raw); err != nil {
			return fmt.Errorf("decode %s: %w", r.Ref, err)
		}
		ann, _ := raw.Metadata()["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			raw.Metadata()["annotations"] = ann
		}
		ann[AnnotationOrphan] = "true"
		edges, _ := Edges(raw)
		r.Orphan, r.Etag, r.UpdatedAt = true, newID(), s.Now()
		gone = append(gone, pending{r, raw, edges})
		res.Orphaned++
	}
	return writeEntities(tx, gone)
}
