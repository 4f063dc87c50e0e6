package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	db *gorm.DB
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// NewStore returns a store over db, whose schema must be migrated.
func NewStore(db *database.DB) *Store {
	return &Store{db: db.Gorm, Now: time.Now}
}

// entityRow is a row of catalog_entities.
type entityRow struct {
	UID        string  `gorm:"column:uid;primaryKey"`
	Ref        string  `gorm:"column:ref"`
	LocationID *string `gorm:"column:location_id"`
	Body       string  `gorm:"column:body"`
	Etag       string  `gorm:"column:etag"`
	Hash       string  `gorm:"column:hash"`
	Orphan     bool    `gorm:"column:orphan"`
	Status     string  `gorm:"column:status"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (entityRow) TableName() string { return "catalog_entities" }

type relationRow struct {
	OriginUID string `gorm:"column:origin_uid"`
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

// writeEntities stores entities in chunks: bodies (upserted), then their
// relations and search rows, replacing whatever they had.
func writeEntities(tx *gorm.DB, items []pending) error {
	for start := 0; start < len(items); start += batchSize {
		chunk := items[start:min(start+batchSize, len(items))]
		uids := make([]string, len(chunk))
		rows := make([]*entityRow, len(chunk))
		var rels []relationRow
		var search []searchRow
		for i, p := range chunk {
			if err := p.encode(); err != nil {
				return err
			}
			uids[i], rows[i] = p.row.UID, p.row
			for _, e := range p.edges {
				rels = append(rels, relationRow{p.row.UID, e.Source.String(), e.Type, e.Target.String()})
			}
			search = append(search, searchRows(p.row.UID, p.raw)...)
		}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(rows).Error; err != nil {
			return fmt.Errorf("save entities: %w", err)
		}
		if err := tx.Where("origin_uid IN ?", uids).Delete(&relationRow{}).Error; err != nil {
			return err
		}
		if err := tx.Where("uid IN ?", uids).Delete(&searchRow{}).Error; err != nil {
			return err
		}
		if err := tx.CreateInBatches(rels, batchSize).Error; len(rels) > 0 && err != nil {
			return fmt.Errorf("save relations: %w", err)
		}
		if err := tx.CreateInBatches(search, batchSize).Error; len(search) > 0 && err != nil {
			return fmt.Errorf("save search index: %w", err)
		}
	}
	return nil
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
