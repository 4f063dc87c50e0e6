// Package templates will embed the built-in golden-path templates as data,
// each a folder with template.yaml and a skeleton/. Nothing is here yet.
package templates
