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

// Emission is one entity a location emitted and the file it came from.
type Emission struct {
	Entity Raw
	// Source is its backstage.io/managed-by-location; empty, the location.
	Source string
}

// emissions yields what a location emitted in batches of at most size.
type emissions func(size int, fn func([]Emission) error) error

// ApplyLocation makes the catalog reflect what loc emitted, in one
// transaction: new entities are added, changed ones updated (unchanged
// content is skipped by hash), ones that loc no longer emits are orphaned or
// deleted, and entities claimed by another location are left to it and
// reported as conflicts.
func (s *Store) ApplyLocation(ctx context.Context, loc *Location, em Emitted, opts ApplyOptions) (ApplyResult, error) {
	return s.applyEmissions(ctx, loc, em.batches, em.Failed, opts)
}

// batches yields the entities of em.
func (em Emitted) batches(size int, fn func([]Emission) error) error {
	for start := 0; start < len(em.Entities); start += size {
		chunk := em.Entities[start:min(start+size, len(em.Entities))]
		batch := make([]Emission, len(chunk))
		for i, raw := range chunk {
			batch[i] = Emission{raw, em.Sources[raw.Ref().String()]}
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
	return nil
}

// applyEmissions is ApplyLocation over entities that come in batches, so
// that a location of any size is applied with bounded memory.
func (s *Store) applyEmissions(ctx context.Context, loc *Location, each emissions, failed []FailedEntity, opts ApplyOptions) (ApplyResult, error) {
	var res ApplyResult
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		res, err = s.applyTx(tx, loc, each, failed, opts)
		return err
	})
	if err == nil && res.bulk() {
		s.analyze(ctx)
	}
	return res, err
}

// bulk reports whether the apply was a bulk write: analyzeAfter or more
// entities changed.
func (r ApplyResult) bulk() bool {
	return r.Added+r.Updated+r.Orphaned+r.Deleted >= analyzeAfter
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

// applyTx is applyEmissions inside the caller's transaction.
func (s *Store) applyTx(tx *gorm.DB, loc *Location, each emissions, failed []FailedEntity, opts ApplyOptions) (ApplyResult, error) {
	var res ApplyResult
	seen := map[string]bool{}
	err := each(indexGroup, func(batch []Emission) error {
		existing, err := s.entitiesByRef(tx, refsOf(batch))
		if err != nil {
			return err
		}
		var writes []pending
		for _, e := range batch {
			p, outcome := s.plan(e.Entity, loc, e.Source, existing, seen)
			switch outcome {
			case outcomeConflict:
				res.Conflicts = append(res.Conflicts, e.Entity.Ref().String())
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
		return writeEntities(tx, writes)
	})
	if err != nil {
		return res, err
	}
	if err := s.recordFailures(tx, loc, failed); err != nil {
		return res, err
	}
	for _, f := range failed {
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

func refsOf(batch []Emission) []string {
	refs := make([]string, len(batch))
	for i, e := range batch {
		refs[i] = e.Entity.Ref().String()
	}
	return refs
}

// entitiesByRef loads the stored rows for refs, in chunks.
func (s *Store) entitiesByRef(tx *gorm.DB, refs []string) (map[string]*entityRow, error) {
	out := make(map[string]*entityRow, len(refs))
	for start := 0; start < len(refs); start += batchSize {
		var rows []*entityRow
		chunk := refs[start:min(start+batchSize, len(refs))]
		// Without the bodies: a write replaces them, and an unchanged
		// entity is known by its hash.
		if err := tx.Select(rowColumnsWithoutBody).Where("ref IN ?", chunk).Find(&rows).Error; err != nil {
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

// rowColumnsWithoutBody are the columns of catalog_entities but the body
// and search text.
var rowColumnsWithoutBody = []string{"id", "uid", "ref", "location_id", "etag", "hash", "orphan", "status", "created_at", "updated_at"}

// orphan marks (or deletes) the location's entities it did not emit now,
// a batch at a time.
func (s *Store) orphan(tx *gorm.DB, loc *Location, seen map[string]bool, opts ApplyOptions, res *ApplyResult) error {
	stale, err := s.notEmitted(tx, loc, seen)
	if err != nil {
		return err
	}
	for start := 0; start < len(stale); start += batchSize {
		chunk := stale[start:min(start+batchSize, len(stale))]
		if opts.DeleteOrphans {
			if err := deleteEntities(tx, chunk); err != nil {
				return err
			}
			res.Deleted += len(chunk)
			continue
		}
		var rows []*entityRow
		if err := tx.Where("id IN ?", chunk).Find(&rows).Error; err != nil {
			return fmt.Errorf("load orphans: %w", err)
		}
		gone := make([]pending, 0, len(rows))
		for _, r := range rows {
			p, err := s.orphaned(r)
			if err != nil {
				return err
			}
			gone = append(gone, p)
		}
		if err := writeEntities(tx, gone); err != nil {
			return err
		}
		res.Orphaned += len(gone)
	}
	return nil
}

// notEmitted returns the ids of the location's entities that are not
// orphans yet and that it did not emit now.
func (s *Store) notEmitted(tx *gorm.DB, loc *Location, seen map[string]bool) ([]int64, error) {
	rows, err := tx.Model(&entityRow{}).Select("id", "ref").Where("location_id = ? AND orphan = ?", loc.ID, false).Rows()
	if err != nil {
		return nil, fmt.Errorf("load the location's entities: %w", err)
	}
	defer rows.Close()
	var stale []int64
	for rows.Next() {
		var id int64
		var ref string
		if err := rows.Scan(&id, &ref); err != nil {
			return nil, fmt.Errorf("load the location's entities: %w", err)
		}
		if !seen[ref] {
			stale = append(stale, id)
		}
	}
	return stale, rows.Err()
}

// orphaned is the write that marks a stored entity as an orphan.
func (s *Store) orphaned(r *entityRow) (pending, error) {
	var raw Raw
	if err := json.Unmarshal([]byte(r.Body), &raw); err != nil {
		return pending{}, fmt.Errorf("decode %s: %w", r.Ref, err)
	}
	ann, _ := raw.Metadata()["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		raw.Metadata()["annotations"] = ann
	}
	ann[AnnotationOrphan] = "true"
	edges, _ := Edges(raw)
	r.Orphan, r.Etag, r.UpdatedAt = true, newID(), s.Now()
	return pending{r, raw, edges}, nil
}
