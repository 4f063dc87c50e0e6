package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// GitFetcher reads files from git repositories over HTTP(S) or file://,
// with a shallow clone held in memory: nothing is written to disk. Targets
// are "<repository URL ending in .git>/<path>"; credentials may be given as
// the URL's user info (https://user:token@host/org/repo.git/...).
//
// A GitFetcher clones each repository once and keeps the clone: use one per
// refresh (Session), so that every file of a location tree comes from the
// same commit and the next refresh sees new pushes.
type GitFetcher struct {
	mu    sync.Mutex
	trees map[string]*object.Tree
}

// NewGitFetcher returns a GitFetcher with nothing cloned yet. Its clones
// go through the catalog's HTTP client, so they obey the reading rules in
// their context.
func NewGitFetcher() *GitFetcher {
	useSafeClientForGit()
	return &GitFetcher{trees: map[string]*object.Tree{}}
}

// Session returns a fresh GitFetcher for one refresh.
func (g *GitFetcher) Session() Fetcher { return NewGitFetcher() }

// Fetch returns the file named by target at the repository's default
// branch head.
func (g *GitFetcher) Fetch(ctx context.Context, target string) ([]byte, error) {
	repo, file, ok := splitGitTarget(target)
	if !ok {
		return nil, fmt.Errorf("%s is not a git target (<repository>.git/<path>)", redactURL(target))
	}
	if file == ".." || strings.HasPrefix(file, "../") {
		return nil, fmt.Errorf("%s: %s climbs above the repository's root", redactURL(repo), file)
	}
	tree, err := g.tree(ctx, repo)
	if err != nil {
		return nil, err
	}
	f, err := tree.File(file)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil, fmt.Errorf("%s: no file %s in the repository", redactURL(repo), file)
	}
	if err != nil {
		return nil, err
	}
	if f.Size > MaxDocumentBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", file, MaxDocumentBytes)
	}
	content, err := f.Contents()
	return []byte(content), err
}

func (g *GitFetcher) tree(ctx context.Context, repo string) (*object.Tree, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.trees[repo]; ok {
		return t, nil
	}
	tree, err := shallowTree(ctx, repo)
	if err != nil {
		return nil, err
	}
	g.trees[repo] = tree
	return tree, nil
}

// shallowTree clones the default branch head, depth 1, into memory.
func shallowTree(ctx context.Context, repo string) (*object.Tree, error) {
	u, err := url.Parse(repo)
	if err != nil {
		return nil, err
	}
	opts := &git.CloneOptions{URL: repo, Depth: 1, SingleBranch: true, NoCheckout: true, Tags: git.NoTags}
	switch c, ok := policyFrom(ctx).credentialFor(u); {
	case u.User != nil: // credentials in the URL win over the integration
		pass, _ := u.User.Password()
		opts.Auth = &githttp.BasicAuth{Username: u.User.Username(), Password: pass}
		u.User = nil
		opts.URL = u.String()
	case ok:
		opts.Auth = &githttp.BasicAuth{Username: c.username, Password: c.secret}
	}
	r, err := git.CloneContext(ctx, memory.NewStorage(), nil, opts)
	if err != nil {
		return nil, fmt.Errorf("clone %s: %w", redactURL(repo), err)
	}
	head, err := r.Head()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redactURL(repo), err)
	}
	commit, err := r.CommitObject(head.Hash())
	if err != nil {
		return nil, err
	}
	return commit.Tree()
}

// redactURL drops a URL's user info (a user name may be a token) from
// messages that end up in location errors, logs and API answers.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
