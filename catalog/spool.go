package catalog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/paved-dev/paved/internal/jsonvalue"
)

// spool keeps the entities a refresh read on disk, between reading the
// location tree and applying it. Reading must finish before anything is
// written (the tree's hash decides whether there is anything to apply, and
// a tree that cannot be read applies nothing), but a tree may hold far more
// entities than should sit in memory at once: the spool holds them as JSON
// lines and hands them back in bounded batches.
type spool struct {
	f   *os.File
	w   *bufio.Writer
	enc *json.Encoder
	n   int
}

// spooled is one line of a spool.
type spooled struct {
	Source string `json:"s"`
	Entity Raw    `json:"e"`
}

// newSpool opens an empty spool in dir (the system's temporary directory
// when empty).
func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "paved-refresh-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("spool a refresh: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	return &spool{f: f, w: w, enc: json.NewEncoder(w)}, nil
}

// add appends an entity read from source.
func (s *spool) add(raw Raw, source string) error {
	s.n++
	if err := s.enc.Encode(spooled{source, raw}); err != nil {
		return fmt.Errorf("spool a refresh: %w", err)
	}
	return nil
}

// batches calls fn with the spooled entities in the order they were added,
// at most size at a time. fn must not keep the slice.
func (s *spool) batches(size int, fn func([]Emission) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool a refresh: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool a refresh: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(s.f, 256<<10))
	dec.UseNumber()
	batch := make([]Emission, 0, min(size, s.n))
	for {
		var line spooled
		err := dec.Decode(&line)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read back a spooled refresh: %w", err)
		}
		batch = append(batch, Emission{Entity: Raw(jsonvalue.PlainNumbers(map[string]any(line.Entity)).(map[string]any)), Source: line.Source})
		if len(batch) == size {
			if err := fn(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return fn(batch)
}

// close removes the spool.
func (s *spool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
