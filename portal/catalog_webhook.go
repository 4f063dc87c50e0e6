package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/paved-dev/paved"
)

// maxWebhookBytes bounds a push payload (GitHub caps them at 25 MB; Paved
// needs only the repository URLs near the top).
const maxWebhookBytes = 5 << 20

// pushPayload holds the repository URLs of GitHub and GitLab push events.
type pushPayload struct {
	Repository struct {
		CloneURL string `json:"clone_url"`
		HTMLURL  string `json:"html_url"`
		URL      string `json:"url"`
		// GitLab's repository block.
		GitHTTPURL string `json:"git_http_url"`
		Homepage   string `json:"homepage"`
	} `json:"repository"`
	Project struct {
		GitHTTPURL string `json:"git_http_url"`
		WebURL     string `json:"web_url"`
	} `json:"project"`
}

func (p pushPayload) urls() []string {
	var out []string
	for _, u := range []string{p.Repository.CloneURL, p.Repository.HTMLURL, p.Repository.URL, p.Repository.GitHTTPURL,
		p.Repository.Homepage, p.Project.GitHTTPURL, p.Project.WebURL} {
		if u != "" {
			out = append(out, u)
		}
	}
	return out
}

// gitWebhook serves POST /webhooks/git: a push to a repository queues a
// refresh of every location in it. The request must carry a GitHub-style
// X-Hub-Signature-256 (HMAC-SHA256 of the body) or a GitLab-style
// X-Gitlab-Token matching --catalog-webhook-secret; otherwise it is a 401
// and nothing is refreshed.
func (s *Server) gitWebhook(c echo.Context) error {
	secret := s.opts.CatalogWebhookSecret
	if secret == "" {
		return paved.Errorf(paved.CodeForbidden, "the git webhook is off: set --catalog-webhook-secret")
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxWebhookBytes+1))
	if err != nil {
		return err
	}
	if len(body) > maxWebhookBytes {
		return paved.Errorf(paved.CodeTooLarge, "webhook payload larger than %d bytes", maxWebhookBytes)
	}
	if !webhookAuthentic(c.Request().Header, body, secret) {
		return paved.Errorf(paved.CodeUnauthorized, "webhook signature or token does not match")
	}
	var p pushPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return paved.Invalid("webhook payload is not JSON", paved.Detail{Field: "body", Reason: err.Error()})
	}
	locs, err := s.catalog.Store.Locations(c.Request().Context())
	if err != nil {
		return err
	}
	queued := 0
	for _, loc := range locs {
		if inRepository(loc.Target, p.urls()) {
			if err := s.refreshLocation(c, loc, false); err != nil {
				return err
			}
			queued++
		}
	}
	return c.JSON(http.StatusAccepted, webhookAnswer{RefreshQueued: queued})
}

// webhookAnswer is the answer of POST /webhooks/git.
type webhookAnswer struct {
	RefreshQueued int `json:"refreshQueued"`
}

// webhookAuthentic checks a GitHub signature or a GitLab token in constant time.
func webhookAuthentic(h http.Header, body []byte, secret string) bool {
	if sig, ok := strings.CutPrefix(h.Get("X-Hub-Signature-256"), "sha256="); ok {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		want := mac.Sum(nil)
		got, err := hex.DecodeString(sig)
		return err == nil && hmac.Equal(got, want)
	}
	if tok := h.Get("X-Gitlab-Token"); tok != "" {
		return subtle.ConstantTimeCompare([]byte(tok), []byte(secret)) == 1
	}
	return false
}

// inRepository reports whether a location target lies in one of the pushed
// repository's URLs (compared without credentials, scheme, ".git" or case
// of the host).
func inRepository(target string, repoURLs []string) bool {
	repo, _, ok := strings.Cut(target, ".git/")
	if !ok {
		repo = strings.TrimSuffix(target, ".git")
	}
	t := normalizeRepoURL(repo)
	for _, u := range repoURLs {
		if n := normalizeRepoURL(u); n != "" && (t == n || strings.HasPrefix(t, n+"/")) {
			return true
		}
	}
	return false
}

func normalizeRepoURL(s string) string {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git"))
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host) + strings.TrimSuffix(u.Path, "/")
}
