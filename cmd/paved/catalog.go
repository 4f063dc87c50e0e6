package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/paved-dev/paved/catalog"
)

const catalogUsage = `Usage: paved catalog <command>

Commands:
  validate FILE...        check descriptor files as Backstage's catalog would;
                          exit 1 listing every error by document and line
  import [flags] PATH|URL register a location and read it now`

func catalogCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, catalogUsage)
		return usageError{errors.New("paved catalog: no command given")}
	}
	switch args[0] {
	case "validate":
		return catalogValidate(args[1:], stdout)
	case "import":
		return catalogImport(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, catalogUsage)
		return nil
	}
	fmt.Fprintln(stderr, catalogUsage)
	return usageError{fmt.Errorf("paved catalog: unknown command %q", args[0])}
}

// catalogValidate judges each file without fetching what placeholders name.
func catalogValidate(files []string, stdout io.Writer) error {
	if len(files) == 0 {
		return usageError{errors.New("paved catalog validate: name at least one file")}
	}
	bad := 0
	for _, f := range files {
		n, err := validateFile(f, stdout)
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", f, err)
			bad++
			continue
		}
		bad += n
	}
	if bad > 0 {
		return fmt.Errorf("%d problem(s) found", bad)
	}
	return nil
}

// validateFile prints the errors of one file and returns how many entities
// (or files) failed.
func validateFile(path string, stdout io.Writer) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if len(data) > catalog.MaxDocumentBytes {
		return 0, fmt.Errorf("larger than %d bytes", catalog.MaxDocumentBytes)
	}
	docs, err := catalog.ParseDocuments(data)
	if err != nil {
		return 0, err
	}
	if len(docs) == 0 {
		return 0, errors.New("no entities in the file")
	}
	bad := 0
	for _, d := range docs {
		errs := catalog.ValidateAssumingPlaceholders(d.Value)
		if len(errs) == 0 {
			continue
		}
		bad++
		for _, e := range errs {
			fmt.Fprintf(stdout, "%s: document %d, line %d: %s\n", path, d.Index, d.Position(e.Pointer).Line, e)
		}
	}
	if bad == 0 {
		fmt.Fprintf(stdout, "%s: ok (%d entities)\n", path, len(docs))
	}
	return bad, nil
}

const importUsage = `Usage: paved catalog import [flags] PATH|URL

Registers a location in the configured database and reads it at once. PATH
is a descriptor file; URL an http(s) raw file or a git repository file
(https://host/org/repo.git/catalog-info.yaml). A running paved keeps it
refreshed.`

func catalogImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, done, err := loadConfig("catalog import", importUsage, args, getenv, stdout)
	if err != nil || done {
		return err
	}
	if len(rest) != 1 {
		return usageError{errors.New("paved catalog import: name exactly one PATH or URL")}
	}
	typ, target := catalog.LocationURL, rest[0]
	if !strings.Contains(target, "://") {
		if target, err = filepath.Abs(target); err != nil {
			return err
		}
		typ = catalog.LocationFile
	}
	log := newLogger(cfg, stderr)
	db, _, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	cat := newCatalog(db, cfg.Catalog, log) // the catalog only: no clusters, no policies
	if typ == catalog.LocationFile {
		// Importing a local file allows its directory, for this import only.
		cat.Ingester.Policy = cat.Ingester.Policy.WithDir(filepath.Dir(target))
	}
	if err := cat.Ingester.CheckTarget(target); err != nil {
		return err
	}
	loc, err := cat.Store.CreateLocation(ctx, typ, target)
	if err != nil {
		return err
	}
	res, err := cat.Ingester.Refresh(ctx, loc, true)
	if err != nil {
		return fmt.Errorf("location %s registered, but reading it failed (it will be retried): %w", loc.ID, err)
	}
	fmt.Fprintf(stdout, "location %s (%s:%s): %d added, %d updated\n", loc.ID, typ, loc.PublicTarget(), res.Applied.Added, res.Applied.Updated)
	for _, p := range res.Problems {
		fmt.Fprintln(stdout, "problem:", p)
	}
	return nil
}
