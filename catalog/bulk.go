package catalog

import (
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// bulkRows is how many rows one INSERT of a bulkInsert carries: large
// enough to amortise a statement, well under SQLite's 32,766 and
// PostgreSQL's 65,535 parameters for the tables here.
const bulkRows = 1000

// bulkInsert batches rows of one table into multi-row INSERT statements
// sent straight to the transaction's connection.
type bulkInsert struct {
	tx      *gorm.DB
	table   string
	columns []string
	dollar  bool // PostgreSQL placeholders ($1) rather than SQLite's (?)
	args    []any
	rows    int
}

func newBulkInsert(tx *gorm.DB, table string, columns ...string) *bulkInsert {
	return &bulkInsert{tx: tx, table: table, columns: columns, dollar: tx.Dialector.Name() == "postgres"}
}

// add queues one row, one value per column, and sends a full batch.
func (b *bulkInsert) add(values ...any) error {
	b.args = append(b.args, values...)
	b.rows++
	if b.rows == bulkRows {
		return b.flush()
	}
	return nil
}

// flush sends the queued rows.
func (b *bulkInsert) flush() error {
	if b.rows == 0 {
		return nil
	}
	var sql strings.Builder
	sql.WriteString("INSERT INTO " + b.table + " (" + strings.Join(b.columns, ", ") + ") VALUES ")
	n := 0
	for r := range b.rows {
		if r > 0 {
			sql.WriteByte(',')
		}
		sql.WriteByte('(')
		for c := range b.columns {
			if c > 0 {
				sql.WriteByte(',')
			}
			n++
			if b.dollar {
				sql.WriteString("$" + strconv.Itoa(n))
			} else {
				sql.WriteByte('?')
			}
		}
		sql.WriteByte(')')
	}
	_, err := b.tx.Statement.ConnPool.ExecContext(b.tx.Statement.Context, sql.String(), b.args...)
	b.args, b.rows = b.args[:0], 0
	return err
}
