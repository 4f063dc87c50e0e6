package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// EntityByRef returns the entity with the reference (compared
// case-insensitively) with its relations and status, or a CodeNotFound
// error.
func (s *Store) EntityByRef(ctx context.Context, ref Ref) (Raw, error) {
	return s.one(ctx, "ref = ?", ref.String())
}

// EntityByUID returns the entity with the uid, or a CodeNotFound error.
func (s *Store) EntityByUID(ctx context.Context, uid string) (Raw, error) {
	return s.one(ctx, "uid = ?", uid)
}

func (s *Store) one(ctx context.Context, where string, arg string) (Raw, error) {
	var rows []*entityRow
	if err := s.db.WithContext(ctx).Where(where, arg).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, notFound("entity " + arg)
	}
	out, err := s.assemble(ctx, rows)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// EntitiesByRefs returns the entities in the order of refs, nil where a ref
// names no entity (as Backstage's by-refs does).
func (s *Store) EntitiesByRefs(ctx context.Context, refs []string) ([]Raw, error) {
	keys := make([]string, len(refs))
	for i, r := range refs {
		keys[i] = strings.ToLower(r)
	}
	rowsByRef := map[string]*entityRow{}
	for start := 0; start < len(keys); start += batchSize {
		var rows []*entityRow
		if err := s.db.WithContext(ctx).Where("ref IN ?", keys[start:min(start+batchSize, len(keys))]).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			rowsByRef[r.Ref] = r
		}
	}
	var found []*entityRow
	for _, k := range keys {
		if r := rowsByRef[k]; r != nil {
			found = append(found, r)
		}
	}
	assembled, err := s.assemble(ctx, found)
	if err != nil {
		return nil, err
	}
	byRef := map[string]Raw{}
	for i, r := range found {
		byRef[r.Ref] = assembled[i]
	}
	out := make([]Raw, len(keys))
	for i, k := range keys {
		out[i] = byRef[k]
	}
	return out, nil
}

// DeleteEntity removes the entity with uid, or returns a CodeNotFound error.
// An entity whose location still emits it comes back at the next refresh.
func (s *Store) DeleteEntity(ctx context.Context, uid string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		var ids []int64
		if err := tx.Model(&entityRow{}).Where("uid = ?", uid).Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return notFound("entity " + uid)
		}
		return deleteEntities(tx, ids)
	})
}

// assemble decodes bodies and attaches relations and status, in row order.
func (s *Store) assemble(ctx context.Context, rows []*entityRow) ([]Raw, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	rels, err := s.relationsOf(s.db.WithContext(ctx), rows)
	if err != nil {
		return nil, err
	}
	out := make([]Raw, len(rows))
	for i, r := range rows {
		var raw Raw
		if err := json.Unmarshal([]byte(r.Body), &raw); err != nil {
			return nil, fmt.Errorf("decode stored entity %s: %w", r.Ref, err)
		}
		relations := rels[r.Ref]
		if relations == nil {
			relations = []Relation{}
		}
		raw["relations"] = relations
		if r.Status != "" {
			var st Status
			if err := json.Unmarshal([]byte(r.Status), &st); err == nil {
				raw["status"] = st
			}
		}
		out[i] = raw
	}
	return out, nil
}

// relationsOf loads the outgoing relations of rows, by source ref. An edge
// declared from both ends (a group's members and a user's memberOf) is
// served once.
func (s *Store) relationsOf(db *gorm.DB, rows []*entityRow) (map[string][]Relation, error) {
	refs := make([]string, len(rows))
	for i, r := range rows {
		refs[i] = r.Ref
	}
	out := map[string][]Relation{}
	for start := 0; start < len(refs); start += batchSize {
		// Scanned by hand: GORM's reflection over a page's few hundred
		// relations cost more than the query.
		rows, err := db.Raw("SELECT DISTINCT source_ref, type, target_ref FROM catalog_relations WHERE source_ref IN ? ORDER BY source_ref, type, target_ref",
			refs[start:min(start+batchSize, len(refs))]).Rows()
		if err != nil {
			return nil, fmt.Errorf("load relations: %w", err)
		}
		err = scanRelations(rows, out)
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("load relations: %w", err)
		}
	}
	return out, nil
}

func scanRelations(rows *sql.Rows, out map[string][]Relation) error {
	for rows.Next() {
		var source, typ, target string
		if err := rows.Scan(&source, &typ, &target); err != nil {
			return err
		}
		ref, err := ParseRef(target, "", "")
		if err != nil {
			continue // stored refs are canonical; skip rather than fail a read
		}
		out[source] = append(out[source], NewRelation(typ, ref))
	}
	return rows.Err()
}
