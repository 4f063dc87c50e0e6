// Package web will hold the server-rendered pages: templ components, one
// folder per page (handler, view model, .templ view), and static assets.
// Pages work without JavaScript. Nothing is here yet.
package web
