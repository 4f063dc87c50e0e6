package catalog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/paved-dev/paved"
	"github.com/paved-dev/paved/internal/database"
)

// Query is a page request over the catalog.
type Query struct {
	Filter Filter
	// Order sorts by these keys, then by id (insertion order). Entities without a value for
	// a key sort after those with one.
	Order []OrderField
	// FullText keeps entities whose value of any of FullTextFields contains
	// FullText (case-insensitively).
	FullText       string
	FullTextFields []string
	Limit          int
	Offset         int
}

// OrderField is one sort key.
type OrderField struct {
	Key  string `json:"key"`
	Desc bool   `json:"desc,omitempty"`
}

// MaxLimit caps a page. A query without a limit gets everything, as on
// Backstage, up to MaxLimit; the page then has a next cursor.
const MaxLimit = 10_000

// Page is one page of a query.
type Page struct {
	Items      []Raw
	TotalItems int
	// Next and Prev are the queries of the neighbouring pages, nil at the
	// ends.
	Next, Prev *Query
}

// defaultFullTextFields are searched when a full-text query names none.
var defaultFullTextFields = []string{"metadata.name", "metadata.title"}

// QueryEntities returns one page of entities matching q.
func (s *Store) QueryEntities(ctx context.Context, q Query) (Page, error) {
	if err := q.check(""); err != nil {
		return Page{}, err
	}
	if q.Limit <= 0 {
		q.Limit = MaxLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	db := s.db.WithContext(ctx)
	where, args, err := s.where(db, q)
	if err != nil {
		return Page{}, err
	}

	// One statement finds the page's ids and the total, so the filter runs
	// once. The matching ids are materialised first: given the filter and
	// a LIMIT together, PostgreSQL would walk the primary key in order and
	// test every entity.
	order, orderArgs := q.orderBy()
	var paged []pagedID
	sql := "WITH m AS MATERIALIZED (SELECT e.id FROM catalog_entities e WHERE " + where + ") " +
		"SELECT e.id AS id, (SELECT count(*) FROM m) AS total_items FROM m e ORDER BY " + order + " LIMIT ? OFFSET ?"
	if err := db.Raw(sql, append(append(args, orderArgs...), q.Limit, q.Offset)...).Scan(&paged).Error; err != nil {
		return Page{}, fmt.Errorf("query entities: %w", err)
	}
	var total int64
	if len(paged) > 0 {
		total = paged[0].TotalItems
	} else if q.Offset > 0 { // past the end: no row carried the total
		if err := db.Raw("SELECT count(*) FROM catalog_entities e WHERE "+where, args...).Scan(&total).Error; err != nil {
			return Page{}, fmt.Errorf("count entities: %w", err)
		}
	}
	rows, err := s.rowsByID(db, paged)
	if err != nil {
		return Page{}, err
	}
	items, err := s.assemble(ctx, rows)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: items, TotalItems: int(total)}
	if q.Offset+len(rows) < int(total) {
		next := q
		next.Offset += q.Limit
		page.Next = &next
	}
	if q.Offset > 0 {
		prev := q
		prev.Offset = max(0, q.Offset-q.Limit)
		page.Prev = &prev
	}
	return page, nil
}

// pagedID is an entity of a page with the total of its query.
type pagedID struct {
	ID         int64 `gorm:"column:id"`
	TotalItems int64 `gorm:"column:total_items"`
}

// rowsByID loads the rows of a page, in page order.
func (s *Store) rowsByID(db *gorm.DB, page []pagedID) ([]*entityRow, error) {
	if len(page) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(page))
	for i, p := range page {
		ids[i] = p.ID
	}
	// Only what assemble reads, scanned by hand (GORM's reflection showed
	// in profiles of by-query).
	rows, err := db.Raw("SELECT id, ref, body, status FROM catalog_entities WHERE id IN ?", ids).Rows()
	if err != nil {
		return nil, fmt.Errorf("load entities: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]*entityRow, len(ids))
	for rows.Next() {
		r := &entityRow{}
		if err := rows.Scan(&r.ID, &r.Ref, &r.Body, &r.Status); err != nil {
			return nil, fmt.Errorf("load entities: %w", err)
		}
		byID[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load entities: %w", err)
	}
	out := make([]*entityRow, 0, len(ids))
	for _, id := range ids {
		if r := byID[id]; r != nil { // deleted between the two reads
			out = append(out, r)
		}
	}
	return out, nil
}

// where builds the condition on entities e for the filter and full text.
func (s *Store) where(db *gorm.DB, q Query) (string, []any, error) {
	parts := []string{"1=1"}
	var args []any
	ids, idArgs, err := filterIDs(db, q.Filter)
	if err != nil {
		return "", nil, err
	}
	if ids != "" {
		parts = append(parts, "e.id IN ("+ids+")")
		args = append(args, idArgs...)
	}
	if term := strings.ToLower(strings.TrimSpace(q.FullText)); term != "" {
		fields := q.FullTextFields
		if len(fields) == 0 {
			fields = defaultFullTextFields
		}
		fields = lowerAll(fields)
		if cond, condArgs, ok := s.textCondition(term, fields); ok {
			parts = append(parts, cond)
			args = append(args, condArgs...)
		} else {
			parts = append(parts, `e.id IN (SELECT entity_id FROM catalog_search WHERE key IN ? AND value LIKE ? ESCAPE '\')`)
			args = append(args, fields, "%"+escapeLike(term)+"%")
		}
	}
	return strings.Join(parts, " AND "), args, nil
}

// textCondition matches a full-text term through the trigram index over
// search_text (the lowercase name and title, newline-separated), when the
// term is long enough for trigrams and only those fields are searched.
// The index finds candidates; a LIKE on the candidate's search_text, or on
// the name or title part of it, is exact.
func (s *Store) textCondition(term string, fields []string) (string, []any, bool) {
	if utf8.RuneCountInString(term) < 3 || strings.Contains(term, "\n") {
		return "", nil, false
	}
	searched := map[string]bool{}
	for _, f := range fields {
		if f != "metadata.name" && f != "metadata.title" {
			return "", nil, false
		}
		searched[f] = true
	}
	like := "%" + escapeLike(term) + "%"
	check := "e.search_text LIKE ? ESCAPE '\\'"
	if len(searched) == 1 {
		check = s.searchTextPart(searched["metadata.title"]) + " LIKE ? ESCAPE '\\'"
	}
	if s.dialect == database.Postgres {
		// The trigram index serves the LIKE on the whole search_text.
		if len(searched) == 1 {
			return "e.search_text LIKE ? ESCAPE '\\' AND " + check, []any{like, like}, true
		}
		return check, []any{like}, true
	}
	// FTS5 takes no ESCAPE: an unescaped % or _ matches more, never less,
	// so the check decides unless the FTS match is already exact.
	cond := "e.id IN (SELECT rowid FROM catalog_text WHERE search_text LIKE ?)"
	if len(searched) == 2 && !strings.ContainsAny(term, "%_") {
		return cond, []any{"%" + term + "%"}, true
	}
	return cond + " AND " + check, []any{"%" + term + "%", like}, true
}

// searchTextPart is the SQL for the name (title false) or the title part
// of e.search_text.
func (s *Store) searchTextPart(title bool) string {
	switch {
	case s.dialect == database.Postgres && title:
		return "substr(e.search_text, strpos(e.search_text, chr(10)) + 1)"
	case s.dialect == database.Postgres:
		return "split_part(e.search_text, chr(10), 1)"
	case title:
		return "substr(e.search_text, instr(e.search_text, char(10)) + 1)"
	}
	return "substr(e.search_text, 1, instr(e.search_text, char(10)) - 1)"
}

// filterIDs is a subquery selecting the ids of matching entities, or ""
// for no filter.
func filterIDs(db *gorm.DB, f Filter) (string, []any, error) {
	var sets []string
	var args []any
	for _, set := range f.Sets {
		sql, a, err := setIDs(db, set)
		if err != nil {
			return "", nil, err
		}
		sets = append(sets, sql)
		args = append(args, a...)
	}
	if len(sets) == 0 {
		return "", nil, nil
	}
	return strings.Join(sets, " UNION "), args, nil
}

// estimateCap bounds the index rows read to estimate a condition's size.
const estimateCap = 1000

// setIDs selects the ids of entities matching every condition of an AND set. It
// drives from the condition matching fewest entities (estimated with a
// capped, index-only count) and probes the others per candidate, so
// "kind=component,spec.owner=team-a" reads the few team-a rows instead of
// every component.
func setIDs(db *gorm.DB, set []Condition) (string, []any, error) {
	if len(set) == 1 {
		sql, args := conditionIDs(set[0])
		return sql, args, nil
	}
	driver, best := 0, estimateCap+1
	for i, c := range set {
		sql, args := conditionIDs(c)
		var n int
		err := db.Raw(fmt.Sprintf("SELECT count(*) FROM (%s LIMIT %d) x", sql, estimateCap+1), args...).Scan(&n).Error
		if err != nil {
			return "", nil, fmt.Errorf("estimate filter %s: %w", c.Key, err)
		}
		if n < best {
			driver, best = i, n
		}
	}
	sql, args := conditionIDs(set[driver])
	var probes []string
	for i, c := range set {
		if i != driver {
			p, a := conditionProbe(c, "d.id")
			probes = append(probes, p)
			args = append(args, a...)
		}
	}
	return "SELECT d.id FROM (" + sql + ") d WHERE " + strings.Join(probes, " AND "), args, nil
}

// conditionProbe tests one condition for the entity whose id is idExpr.
func conditionProbe(c Condition, idExpr string) (string, []any) {
	if typ, ok := strings.CutPrefix(c.Key, relationPrefix); ok {
		stored, known := relationTypes[typ]
		if !known {
			return "1=0", nil
		}
		sql := "EXISTS (SELECT 1 FROM catalog_entities pe JOIN catalog_relations pr ON pr.source_ref = pe.ref WHERE pe.id = " + idExpr + " AND pr.type = ?"
		if len(c.Values) == 0 {
			return sql + ")", []any{stored}
		}
		return sql + " AND pr.target_ref IN ?)", []any{stored, c.Values}
	}
	sql := "EXISTS (SELECT 1 FROM catalog_search p WHERE p.entity_id = " + idExpr + " AND p.key = ?"
	if len(c.Values) == 0 {
		return sql + ")", []any{c.Key}
	}
	return sql + " AND p.value IN ?)", []any{c.Key, c.Values}
}

func conditionIDs(c Condition) (string, []any) {
	if typ, ok := strings.CutPrefix(c.Key, relationPrefix); ok {
		stored, known := relationTypes[typ]
		if !known {
			return "SELECT id FROM catalog_entities WHERE 1=0", nil
		}
		if len(c.Values) == 0 {
			return "SELECT e2.id AS id FROM catalog_entities e2 WHERE EXISTS (SELECT 1 FROM catalog_relations r WHERE r.source_ref = e2.ref AND r.type = ?)", []any{stored}
		}
		return "SELECT e2.id AS id FROM catalog_relations r JOIN catalog_entities e2 ON e2.ref = r.source_ref WHERE r.type = ? AND r.target_ref IN ?", []any{stored, c.Values}
	}
	if len(c.Values) == 0 {
		return "SELECT entity_id AS id FROM catalog_search WHERE key = ?", []any{c.Key}
	}
	return "SELECT entity_id AS id FROM catalog_search WHERE key = ? AND value IN ?", []any{c.Key, c.Values}
}

// orderBy sorts by each field's smallest value (entities without one last),
// then by id so pages are stable.
func (q Query) orderBy() (string, []any) {
	var parts []string
	var args []any
	for _, o := range q.Order {
		dir := "ASC"
		if o.Desc {
			dir = "DESC"
		}
		sub := "(SELECT min(value) FROM catalog_search o WHERE o.entity_id = e.id AND o.key = ?)"
		parts = append(parts, "CASE WHEN "+sub+" IS NULL THEN 1 ELSE 0 END", sub+" "+dir)
		args = append(args, strings.ToLower(o.Key), strings.ToLower(o.Key))
	}
	return strings.Join(append(parts, "e.id"), ", "), args
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// Facet is one value of a facet with the number of entities having it.
type Facet struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Facets counts, for each key, the entities matching f per value, sorted
// by value as Backstage sorts them. Values are spelled as written (not
// lowercased); relations.<type> keys count the targets of that relation.
// Each facet is one query. The answer is keyed as the keys were asked.
func (s *Store) Facets(ctx context.Context, keys []string, f Filter) (map[string][]Facet, error) {
	if err := checkFilter(f, "filter"); err != nil {
		return nil, err
	}
	if len(keys) > MaxFacets {
		return nil, paved.Invalid("invalid facets", paved.Detail{Field: "facet", Reason: fmt.Sprintf("%d facets; at most %d", len(keys), MaxFacets)})
	}
	db := s.db.WithContext(ctx)
	out := map[string][]Facet{}
	ids, args, err := filterIDs(db, f)
	if err != nil {
		return nil, err
	}
	for _, asked := range keys {
		sql, a := facetQuery(strings.ToLower(asked), ids, args)
		counts := []Facet{}
		if err := db.Raw(sql, a...).Scan(&counts).Error; err != nil {
			return nil, fmt.Errorf("facet %s: %w", asked, err)
		}
		out[asked] = counts
	}
	return out, nil
}

// facetQuery counts the values of key among the entities ids selects (all
// when ids is empty). Values group by their lowercase form; one spelling
// as written stands for each.
func facetQuery(key, ids string, args []any) (string, []any) {
	if typ, ok := strings.CutPrefix(key, relationPrefix); ok {
		sql := "SELECT r.target_ref AS value, count(DISTINCT r.source_ref) AS count FROM catalog_relations r"
		a := []any{relationTypes[typ]}
		where := " WHERE r.type = ?"
		if ids != "" {
			sql += " JOIN catalog_entities e ON e.ref = r.source_ref"
			where += " AND e.id IN (" + ids + ")"
			a = append(a, args...)
		}
		return sql + where + " GROUP BY r.target_ref ORDER BY r.target_ref", a
	}
	// Counted from the index alone; the spelling of each distinct value
	// is one seek in catalog_search_original.
	sql := "SELECT key, value, count(*) AS count FROM catalog_search WHERE key = ? AND value IS NOT NULL"
	a := []any{key}
	if ids != "" {
		sql += " AND entity_id IN (" + ids + ")"
		a = append(a, args...)
	}
	sql += " GROUP BY key, value"
	return "SELECT coalesce((SELECT min(o.original) FROM catalog_search o WHERE o.key = g.key AND o.value = g.value AND o.original IS NOT NULL), g.value) AS value, g.count AS count" +
		" FROM (" + sql + ") g ORDER BY g.value", a
}

// cursorVersion guards against cursors from an incompatible Paved.
const cursorVersion = 1

type cursor struct {
	V int    `json:"v"`
	Q cQuery `json:"q"`
}

type cQuery struct {
	Sets   [][]Condition `json:"f,omitempty"`
	Order  []OrderField  `json:"o,omitempty"`
	Text   string        `json:"t,omitempty"`
	Fields []string      `json:"tf,omitempty"`
	Limit  int           `json:"l"`
	Offset int           `json:"off"`
}

// EncodeCursor makes an opaque cursor that carries the whole query, so a
// client only sends the cursor for the next page.
func EncodeCursor(q *Query) string {
	data, _ := json.Marshal(cursor{cursorVersion, cQuery{q.Filter.Sets, q.Order, q.FullText, q.FullTextFields, q.Limit, q.Offset}})
	return base64.RawURLEncoding.EncodeToString(data)
}

// DecodeCursor reverses EncodeCursor; a damaged cursor is a CodeInvalid
// error.
func DecodeCursor(s string) (Query, error) {
	data, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil || c.V != cursorVersion {
		return Query{}, paved.Invalid("invalid cursor", paved.Detail{Field: "cursor", Reason: "not a cursor this server issued"})
	}
	q := Query{Filter: Filter{Sets: c.Q.Sets}, Order: c.Q.Order, FullText: c.Q.Text, FullTextFields: c.Q.Fields, Limit: c.Q.Limit, Offset: c.Q.Offset}
	if err := q.check("cursor"); err != nil {
		return Query{}, paved.Invalid("invalid cursor", paved.Detail{Field: "cursor", Reason: "not a cursor this server issued"})
	}
	return q, nil
}
