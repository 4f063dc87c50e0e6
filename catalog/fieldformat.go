package catalog

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// These rules are Backstage's FieldFormatEntityPolicy and its validator
// functions (catalog-model 1.10.1), so the same names and keys pass.
var (
	objectNameRE = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	dnsLabelRE   = regexp.MustCompile(`^[a-z0-9]+(?:-+[a-z0-9]+)*$`)
	kindRE       = regexp.MustCompile(`^[a-zA-Z][a-z0-9A-Z]*$`)
	versionRE    = regexp.MustCompile(`^[a-z0-9A-Z]+$`)
	tagRE        = regexp.MustCompile(`^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$`)
	urlSchemeRE  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

const (
	expectName      = "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total"
	expectKey       = "a valid prefix and/or suffix"
	expectNamespace = "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total"
	expectTag       = "a string that is sequences of [a-z0-9:+#] separated by [-], at most 63 characters in total"
	expectKind      = "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total"
	expectString    = "a string"
	expectURL       = "a string that is a valid url"
	expectNonEmpty  = "a non empty string"
)

// IsValidName reports whether s is a valid entity name (also used for
// label values and the name part of label and annotation keys).
func IsValidName(s string) bool {
	return len(s) >= 1 && len(s) <= 63 && objectNameRE.MatchString(s)
}

// IsValidNamespace reports whether s is a valid namespace (a DNS label).
func IsValidNamespace(s string) bool {
	return len(s) >= 1 && len(s) <= 63 && dnsLabelRE.MatchString(s)
}

func isValidDNSSubdomain(s string) bool {
	if len(s) < 1 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if !IsValidNamespace(label) {
			return false
		}
	}
	return true
}

// prefixAndOrSuffix checks "suffix" or "prefix/suffix".
func prefixAndOrSuffix(s string, prefix, suffix func(string) bool) bool {
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 1:
		return suffix(parts[0])
	case 2:
		return prefix(parts[0]) && suffix(parts[1])
	}
	return false
}

func isValidAPIVersion(s string) bool {
	return prefixAndOrSuffix(s, isValidDNSSubdomain, func(v string) bool {
		return len(v) >= 1 && len(v) <= 63 && versionRE.MatchString(v)
	})
}

func isValidKind(s string) bool { return len(s) >= 1 && len(s) <= 63 && kindRE.MatchString(s) }

// IsValidKey reports whether s is a valid label or annotation key.
func IsValidKey(s string) bool { return prefixAndOrSuffix(s, isValidDNSSubdomain, IsValidName) }

// IsValidTag reports whether s is a valid tag.
func IsValidTag(s string) bool { return len(s) >= 1 && len(s) <= 63 && tagRE.MatchString(s) }

func isValidURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && urlSchemeRE.MatchString(s) && (u.Opaque != "" || u.Host != "" || !strings.HasPrefix(u.Scheme, "http"))
}

func isNonEmpty(s string) bool { return strings.TrimSpace(s) != "" }

// fieldFormatErrors applies the format rules to whatever fields are present
// with the right type; missing or mistyped fields are the schema's to report.
func fieldFormatErrors(root map[string]any) []FieldError {
	var errs []FieldError
	check := func(pointer string, v any, ok func(string) bool, expect string) {
		s, isString := v.(string)
		if !isString || !ok(s) {
			errs = append(errs, FieldError{pointer, fmt.Sprintf("expected %s but found %s", expect, describe(v))})
		}
	}
	if v, ok := root["apiVersion"]; ok {
		check("/apiVersion", v, isValidAPIVersion, expectKey)
	}
	if v, ok := root["kind"]; ok {
		check("/kind", v, isValidKind, expectKind)
	}
	meta, ok := root["metadata"].(map[string]any)
	if !ok {
		return errs
	}
	if v, ok := meta["name"]; ok {
		check("/metadata/name", v, IsValidName, expectName)
	}
	if v, ok := meta["namespace"]; ok {
		check("/metadata/namespace", v, IsValidNamespace, expectNamespace)
	}
	for _, field := range []string{"labels", "annotations"} {
		m, _ := meta[field].(map[string]any)
		for k, v := range m {
			p := "/metadata/" + field + "/" + escapePointer(k)
			check(p, k, IsValidKey, expectKey)
			if field == "labels" {
				check(p, v, func(s string) bool { return s == "" || IsValidName(s) }, expectName)
			} else {
				check(p, v, func(string) bool { return true }, expectString)
			}
		}
	}
	tags, _ := meta["tags"].([]any)
	for i, t := range tags {
		check("/metadata/tags/"+strconv.Itoa(i), t, IsValidTag, expectTag)
	}
	links, _ := meta["links"].([]any)
	for i, l := range links {
		link, _ := l.(map[string]any)
		p := "/metadata/links/" + strconv.Itoa(i)
		check(p+"/url", link["url"], isValidURL, expectURL)
		for _, f := range []string{"title", "icon"} {
			if v, ok := link[f]; ok { // present but null is an error, as in Backstage
				check(p+"/"+f, v, isNonEmpty, expectNonEmpty)
			}
		}
	}
	return errs
}

func describe(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return typeName(v)
}
