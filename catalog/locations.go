package catalog

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/paved-dev/paved"
)

// Location types.
const (
	LocationFile = "file"
	LocationURL  = "url"
)

// Location is a registered source of descriptors: a file path, a git
// repository URL (optionally with a path in it), or a plain HTTPS URL.
type Location struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Target string `json:"target"`
	// ContentHash is the hash of what the last read found; unchanged
	// content is not processed again.
	ContentHash   string     `json:"-"`
	LastError     string     `json:"-"`
	RefreshedAt   *time.Time `json:"-"`
	NextRefreshAt time.Time  `json:"-"`
	CreatedAt     time.Time  `json:"-"`
}

// PublicTarget is the target without credentials (a URL's user info):
// what API answers, annotations and logs show.
func (l *Location) PublicTarget() string { return redactURL(l.Target) }

// TableName is the locations table.
func (Location) TableName() string { return "catalog_locations" }

// ValidateLocation checks a location's type and target before it is stored.
func ValidateLocation(typ, target string) error {
	var details []paved.Detail
	switch typ {
	case LocationFile:
		if strings.TrimSpace(target) == "" {
			details = append(details, paved.Detail{Field: "target", Reason: "must be a file path"})
		}
	case LocationURL:
		u, err := url.Parse(target)
		builtin := err == nil && u.Scheme == BuiltinScheme
		if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "file" && !builtin) || (u.Scheme != "file" && !builtin && u.Host == "") {
			details = append(details, paved.Detail{Field: "target", Reason: "must be an http(s):// or file:// URL"})
		} else if _, err := builtinPath(target); builtin && err != nil {
			details = append(details, paved.Detail{Field: "target", Reason: err.Error()})
		}
	default:
		details = append(details, paved.Detail{Field: "type", Reason: fmt.Sprintf("%q is not one of file, url", typ)})
	}
	if len(details) > 0 {
		return paved.Invalid("invalid location", details...)
	}
	return nil
}

// CreateLocation registers a location, due for its first refresh at once.
// It returns a CodeConflict error if the same type and target exist.
func (s *Store) CreateLocation(ctx context.Context, typ, target string) (*Location, error) {
	if err := ValidateLocation(typ, target); err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	loc := &Location{ID: newID(), Type: typ, Target: target, NextRefreshAt: now, CreatedAt: now}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Location{}).Where("type = ? AND target = ?", typ, target).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return paved.Errorf(paved.CodeConflict, "location %s:%s already exists", typ, redactURL(target))
		}
		return tx.Create(loc).Error
	})
	if err != nil {
		return nil, err
	}
	return loc, nil
}

// Location returns the location with id, or a CodeNotFound error.
func (s *Store) Location(ctx context.Context, id string) (*Location, error) {
	var loc Location
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&loc).Error
	if isNotFound(err) {
		return nil, notFound("location " + id)
	}
	return &loc, err
}

// LocationByTarget returns the location of that type and target, or a
// CodeNotFound error. The target may be the public one (without the user
// info it was registered with), as annotations carry it.
func (s *Store) LocationByTarget(ctx context.Context, typ, target string) (*Location, error) {
	var loc Location
	err := s.db.WithContext(ctx).Where("type = ? AND target = ?", typ, target).Take(&loc).Error
	if isNotFound(err) && typ == LocationURL {
		return s.locationByPublicTarget(ctx, target)
	}
	if isNotFound(err) {
		return nil, notFound("location " + typ + ":" + redactURL(target))
	}
	return &loc, err
}

// locationByPublicTarget finds a url location registered with credentials
// by its public target. Only such locations are scanned.
func (s *Store) locationByPublicTarget(ctx context.Context, target string) (*Location, error) {
	var locs []*Location
	if err := s.db.WithContext(ctx).Where("type = ? AND target LIKE ?", LocationURL, "%@%").Find(&locs).Error; err != nil {
		return nil, err
	}
	for _, l := range locs {
		if l.PublicTarget() == target {
			return l, nil
		}
	}
	return nil, notFound("location " + LocationURL + ":" + redactURL(target))
}

// Locations lists every location, oldest first.
func (s *Store) Locations(ctx context.Context) ([]*Location, error) {
	var locs []*Location
	err := s.db.WithContext(ctx).Order("created_at, id").Find(&locs).Error
	return locs, err
}

// DeleteLocation removes a location, in one transaction with orphaning its
// entities (or deleting them, by opts): nothing keeps them current any more.
func (s *Store) DeleteLocation(ctx context.Context, id string, opts ApplyOptions) error {
	loc, err := s.Location(ctx, id)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.applyTx(tx, loc, Emitted{}.batches, nil, opts); err != nil {
			return err
		}
		res := tx.Delete(&Location{}, "id = ?", id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("location " + id)
		}
		return nil
	})
}

// RecordRefresh stores the outcome of reading a location and schedules its
// next refresh.
func (s *Store) RecordRefresh(ctx context.Context, id, contentHash string, readErr error, next time.Time) error {
	now := s.Now().UTC()
	msg := ""
	if readErr != nil {
		msg = readErr.Error()
	}
	updates := map[string]any{"last_error": msg, "refreshed_at": now, "next_refresh_at": next.UTC()}
	if readErr == nil {
		updates["content_hash"] = contentHash
	}
	err := s.db.WithContext(ctx).Model(&Location{}).Where("id = ?", id).Updates(updates).Error
	if err != nil {
		return fmt.Errorf("record refresh of location %s: %w", id, err)
	}
	return nil
}

// DueLocations returns up to limit locations whose next refresh is due.
func (s *Store) DueLocations(ctx context.Context, limit int) ([]*Location, error) {
	var locs []*Location
	err := s.db.WithContext(ctx).Where("next_refresh_at <= ?", s.Now().UTC()).
		Order("next_refresh_at").Limit(limit).Find(&locs).Error
	return locs, err
}
