package catalog

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/paved-dev/paved"
)

// Integrations are per-host credentials for reading, in the shape of
// Backstage's integrations: config, so locations need no user info.
type Integrations struct {
	GitHub []Integration `yaml:"github"`
	GitLab []Integration `yaml:"gitlab"`
	Gitea  []Integration `yaml:"gitea"`
	// Git is any other git host, with basic auth.
	Git []Integration `yaml:"git"`
}

// Integration is one host's credentials: a token, or a user name and a
// password (Gitea and plain git also take a user name with a token).
type Integration struct {
	Host     string `yaml:"host"`
	Token    string `yaml:"token"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// BaseURL is the host's web and API root when it is not
	// https://<host> (Backstage's gitea baseUrl); the scaffolder's publish
	// actions use it.
	BaseURL string `yaml:"baseUrl"`
	// APIBaseURL is a GitHub or GitLab host's REST API root when it is
	// not the default (https://api.github.com for github.com,
	// https://<host>/api/v3 for GitHub Enterprise, https://<host>/api/v4
	// for GitLab): Backstage's apiBaseUrl.
	APIBaseURL string `yaml:"apiBaseUrl"`
}

// All lists every integration with its provider's name.
func (in Integrations) All() map[string][]Integration {
	return map[string][]Integration{"github": in.GitHub, "gitlab": in.GitLab, "gitea": in.Gitea, "git": in.Git}
}

func (in Integrations) validate(d *paved.Details) {
	for provider, list := range in.All() {
		for i, it := range list {
			field := fmt.Sprintf("integrations.%s[%d]", provider, i)
			if it.Host == "" || strings.ContainsAny(it.Host, "/@ ") {
				d.Add(field+".host", "%q is not a host or host:port", it.Host)
			}
			hasToken, hasPassword := it.Token != "", it.Username != "" && it.Password != ""
			switch {
			case (provider == "github" || provider == "gitlab") && !hasToken:
				d.Add(field+".token", "a %s integration needs a token", provider)
			case !hasToken && !hasPassword:
				d.Add(field, "give a token, or a username and a password")
			}
		}
	}
}

// credential is how to authenticate to one host.
type credential struct {
	provider, username, secret string
}

// credentials compiles the integrations by lowercase host.
func (in Integrations) credentials() map[string]credential {
	out := map[string]credential{}
	for provider, list := range in.All() {
		for _, it := range list {
			c := credential{provider: provider, username: it.Username, secret: it.Token}
			if c.secret == "" {
				c.secret = it.Password
			}
			switch {
			case provider == "github":
				c.username = "x-access-token"
			case provider == "gitlab":
				c.username = "oauth2"
			case c.username == "":
				c.username = "paved"
			}
			out[strings.ToLower(it.Host)] = c
		}
	}
	return out
}

// credentialFor finds the credential of u's host (host:port first).
func (p *Policy) credentialFor(u *url.URL) (credential, bool) {
	if c, ok := p.creds[strings.ToLower(u.Host)]; ok {
		return c, true
	}
	c, ok := p.creds[strings.ToLower(u.Hostname())]
	return c, ok
}

// authorize adds the host's credential to a raw file request, as each
// provider expects it.
func (c credential) authorize(r *http.Request) {
	switch c.provider {
	case "github", "gitea":
		r.Header.Set("Authorization", "token "+c.secret)
	case "gitlab":
		r.Header.Set("PRIVATE-TOKEN", c.secret)
	default:
		r.SetBasicAuth(c.username, c.secret)
	}
}
