package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
)

// GitFetcher reads files from git repositories over HTTP(S) or file://,
// with a shallow clone held in memory: nothing is written to disk. Targets
// are "<repository URL ending in .git>/<path>"; credentials may be given as
// the URL's user info (https://user:token@host/org/repo.git/...).
type GitFetcher struct {
	// CacheFor keeps a clone for reuse by the other files of the same
	// location tree (default 30 s).
	CacheFor time.Duration

	mu    sync.Mutex
	cache map[string]cachedClone
	now   func() time.Time
}

type cachedClone struct {
	tree *object.Tree
	at   time.Time
}

// NewGitFetcher returns a GitFetcher with the default cache time.
func NewGitFetcher() *GitFetcher {
	return &GitFetcher{CacheFor: 30 * time.Second, cache: map[string]cachedClone{}, now: time.Now}
}

// Fetch returns the file named by target at the repository's default
// branch head.
func (g *GitFetcher) Fetch(ctx context.Context, target string) ([]byte, error) {
	repo, file, ok := splitGitTarget(target)
	if !ok {
		return nil, fmt.Errorf("%s is not a git target (<repository>.git/<path>)", target)
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
	c, ok := g.cache[repo]
	g.mu.Unlock()
	if ok && g.now().Sub(c.at) < g.CacheFor {
		return c.tree, nil
	}
	tree, err := shallowTree(ctx, repo)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	for k, v := range g.cache { // drop stale clones so memory stays bounded
		if g.now().Sub(v.at) >= g.CacheFor {
			delete(g.cache, k)
		}
	}
	g.cache[repo] = cachedClone{tree, g.now()}
	g.mu.Unlock()
	return tree, nil
}

// shallowTree clones the default branch head, depth 1, into memory.
func shallowTree(ctx context.Context, repo string) (*object.Tree, error) {
	u, err := url.Parse(repo)
	if err != nil {
		return nil, err
	}
	opts := &git.CloneOptions{URL: repo, Depth: 1, SingleBranch: true, NoCheckout: true, Tags: git.NoTags}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts.Auth = &githttp.BasicAuth{Username: u.User.Username(), Password: pass}
		u.User = nil
		opts.URL = u.String()
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

// redactURL hides credentials in messages that end up in location errors.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}
