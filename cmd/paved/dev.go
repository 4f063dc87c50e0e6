package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/paved-dev/paved/catalog/synth"
)

const devUsage = `Usage: paved dev gen-catalog [--entities N] [--out DIR] [--seed S]

Writes a synthetic but realistic catalog for benchmarks: groups, users,
domains, systems, APIs and components with owners, systems, dependsOn,
providesApis and consumesApis, in files of 1000 entities under a root
catalog-info.yaml Location (import that file).`

func devCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "gen-catalog" {
		fmt.Fprintln(stderr, devUsage)
		return usageError{errors.New("paved dev: the only command is gen-catalog")}
	}
	fs := flag.NewFlagSet("paved dev gen-catalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("entities", 10000, "how many entities")
	out := fs.String("out", "./synthetic-catalog", "folder to write")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same catalog)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if *n < 1 {
		return usageError{fmt.Errorf("--entities must be at least 1, not %d", *n)}
	}
	root, err := synth.Write(*out, *n, *seed)
	if err != nil {
		return err
	}
	s := synth.ShapeFor(*n)
	fmt.Fprintf(stdout, "wrote %d entities (%d components, %d APIs, %d users, %d groups, %d systems, %d domains); import %s\n",
		*n, s.Components, s.APIs, s.Users, s.Groups, s.Systems, s.Domains, root)
	return nil
}
