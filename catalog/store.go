package catalog

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
)

// Annotations Paved sets on ingested entities, as Backstage does.
const (
	AnnotationLocation       = "backstage.io/managed-by-location"
	AnnotationOriginLocation = "backstage.io/managed-by-origin-location"
	AnnotationOrphan         = "backstage.io/orphan"
)

// Store keeps entities, relations and locations in the database.
type Store struct {
	db      *gorm.DB
	dialect database.Dialect
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewStore returns a store over db, whose schema must be migrated.
func NewStore(db *database.DB) *Store {
	return &Store{db: db.Gorm, dialect: db.Dialect, Now: time.Now}
}

// entityRow is a row of catalog_entities.
type entityRow struct {
	ID         int64   `gorm:"column:id;primaryKey"`
	UID        string  `gorm:"column:uid"`
	Ref        string  `gorm:"column:ref"`
	LocationID *string `gorm:"column:location_id"`
	Body       string  `gorm:"column:body"`
	Etag       string  `gorm:"column:etag"`
	Hash       string  `gorm:"column:hash"`
	Orphan     bool    `gorm:"column:orphan"`
	Status     string  `gorm:"column:status"`
	SearchText string  `gorm:"column:search_text"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (entityRow) TableName() string { return "catalog_entities" }

type relationRow struct {
	EntityID  int64  `gorm:"column:entity_id"`
	SourceRef string `gorm:"column:source_ref"`
	Type      string `gorm:"column:type"`
	TargetRef string `gorm:"column:target_ref"`
}

func (relationRow) TableName() string { return "catalog_relations" }

func (searchRow) TableName() string { return "catalog_search" }

// batchSize bounds rows per INSERT (SQLite allows 32766 parameters).
const batchSize = 500

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40 // version 4
	b[8] = (b[8] & 0x3f) | 0x80 // RFC 4122 variant
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// contentHash identifies a descriptor's content; encoding/json sorts map
// keys, so equal content hashes equal.
func contentHash(raw Raw) string {
	data, _ := json.Marshal(raw) // a Raw decoded from YAML always marshals
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// pending is an entity about to be written with its relations.
type pending struct {
	row   *entityRow
	raw   Raw
	edges []Edge
}

// indexGroup is how many entities are applied together, and their
// relations and search rows sorted and inserted together: rows inserted
// in index order touch each index page once instead of at random. It also
// bounds what an apply holds in memory: a group of 20,000 was faster only
// with a page cache and a heap (GOGC 400) that put a server far over its
// memory budget; 2,000 ingests 100,000 entities as fast in ~300 MB.
const indexGroup = 2000

// writeEntities stores entities: bodies in chunks (new ones inserted, which
// assigns their ids; known ones updated), then their relations and search
// rows in groups, replacing whatever they had.
func writeEntities(tx *gorm.DB, items []pending) error {
	for start := 0; start < len(items); start += indexGroup {
		group := items[start:min(start+indexGroup, len(items))]
		if err := writeBodies(tx, group); err != nil {
			return err
		}
		if err := insertIndexRows(tx, group); err != nil {
			return err
		}
	}
	return nil
}

// writeBodies inserts or updates the entity rows and clears the index rows
// of updated ones.
func writeBodies(tx *gorm.DB, items []pending) error {
	for start := 0; start < len(items); start += batchSize {
		chunk := items[start:min(start+batchSize, len(items))]
		var added, updated []*entityRow
		for _, p := range chunk {
			if err := p.encode(); err != nil {
				return err
			}
			if p.row.ID == 0 {
				added = append(added, p.row)
			} else {
				updated = append(updated, p.row)
			}
		}
		if len(added) > 0 {
			if err := tx.Create(added).Error; err != nil {
				return fmt.Errorf("save entities: %w", err)
			}
		}
		if len(updated) > 0 {
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(updated).Error; err != nil {
				return fmt.Errorf("save entities: %w", err)
			}
			if err := deleteIndexRows(tx, idsOf(updated)); err != nil {
				return err
			}
		}
	}
	return nil
}

func idsOf(rows []*entityRow) []int64 {
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids
}

// deleteEntities removes entities with their relations and search rows.
func deleteEntities(tx *gorm.DB, ids []int64) error {
	if err := deleteIndexRows(tx, ids); err != nil {
		return err
	}
	if err := tx.Where("id IN ?", ids).Delete(&entityRow{}).Error; err != nil {
		return fmt.Errorf("delete entities: %w", err)
	}
	return nil
}

// deleteIndexRows removes the relations and search rows of entities (the
// tables have no foreign key to cascade from).
func deleteIndexRows(tx *gorm.DB, ids []int64) error {
	if err := tx.Where("entity_id IN ?", ids).Delete(&relationRow{}).Error; err != nil {
		return fmt.Errorf("delete relations: %w", err)
	}
	if err := tx.Where("entity_id IN ?", ids).Delete(&searchRow{}).Error; err != nil {
		return fmt.Errorf("delete search index: %w", err)
	}
	return nil
}

// insertIndexRows writes the relations and search rows of stored entities,
// sorted in the order of their main index, with multi-row INSERTs built
// here: going through GORM's reflection for two million search rows cost
// a fifth of an import.
func insertIndexRows(tx *gorm.DB, items []pending) error {
	var rels []relationRow
	var search []searchRow
	for _, p := range items {
		for _, e := range p.edges {
			rels = append(rels, relationRow{p.row.ID, e.Source.String(), e.Type, e.Target.String()})
		}
		for _, r := range searchRows(p.raw) {
			r.EntityID = p.row.ID
			search = append(search, r)
		}
	}
	slices.SortFunc(rels, func(a, b relationRow) int {
		return cmp.Or(strings.Compare(a.SourceRef, b.SourceRef), strings.Compare(a.Type, b.Type), strings.Compare(a.TargetRef, b.TargetRef))
	})
	slices.SortFunc(search, func(a, b searchRow) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), compareNullable(a.Value, b.Value), cmp.Compare(a.EntityID, b.EntityID))
	})
	ins := newBulkInsert(tx, "catalog_relations", "entity_id", "source_ref", "type", "target_ref")
	for _, r := range rels {
		if err := ins.add(r.EntityID, r.SourceRef, r.Type, r.TargetRef); err != nil {
			return fmt.Errorf("save relations: %w", err)
		}
	}
	if err := ins.flush(); err != nil {
		return fmt.Errorf("save relations: %w", err)
	}
	ins = newBulkInsert(tx, "catalog_search", "entity_id", "key", "value", "original")
	for _, r := range search {
		if err := ins.add(r.EntityID, r.Key, r.Value, r.Original); err != nil {
			return fmt.Errorf("save search index: %w", err)
		}
	}
	if err := ins.flush(); err != nil {
		return fmt.Errorf("save search index: %w", err)
	}
	return nil
}

// compareNullable orders NULL first, as SQLite's indexes do (PostgreSQL's
// put NULLs last, which only moves the few valueless rows).
func compareNullable(a, b *string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return strings.Compare(*a, *b)
}

// encode writes uid and etag into the descriptor and serialises it.
func (p *pending) encode() error {
	meta := p.raw.Metadata()
	meta["uid"], meta["etag"] = p.row.UID, p.row.Etag
	body, err := json.Marshal(p.raw)
	if err != nil {
		return fmt.Errorf("encode %s: %w", p.row.Ref, err)
	}
	p.row.Body = string(body)
	p.row.SearchText = searchText(p.raw)
	return nil
}

// notFound is the CodeNotFound error for a missing entity or location.
func notFound(what string) error {
	return paved.Errorf(paved.CodeNotFound, "%s not found", what)
}

func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}
