package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored from npm (see testdata/axe/README.md).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// viewport is one screen every page is checked at.
type viewport struct {
	name   string
	w, h   int64
	mobile bool
}

// viewports are issue 15's: a laptop and a phone (390×844).
var viewports = []viewport{{"desktop", 1280, 900, false}, {"phone", 390, 844, true}}

// screenshotPages are the key pages copied to docs/screenshots when
// SCREENSHOTS_DIR is set (make screenshots), by audit name.
var screenshotPages = map[string]bool{"login": true, "applications": true, "register": true, "secret": true, "consent": true,
	"authorized": true, "admin-index": true, "admin-users": true, "admin-user-change": true, "admin-deactivate": true,
	"admin-applications": true, "admin-app-change": true, "admin-history": true, "account-password": true, "password-reset": true}

// auditor checks pages in the browser: at every viewport, nothing wider
// than the viewport, and axe-core finds no critical or serious violation.
type auditor struct {
	t     *testing.T
	ctx   context.Context
	base  string
	out   string // screenshots of every page at every viewport
	docs  string // SCREENSHOTS_DIR: the key pages, for the README
	pages []string
}

// overflowJS measures how far the page is wider than its viewport, and
// names the first elements that stick out.
const overflowJS = `(() => {
  const d = document.documentElement, w = d.clientWidth;
  const culprits = [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > w + 0.5 && getComputedStyle(e).position !== "fixed")
    .slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (typeof e.className === "string" && e.className ? "." + e.className.split(" ").join(".") : ""));
  return {over: d.scrollWidth - w, culprits};
})()`

// axeJS runs axe-core on the page and keeps the critical and serious
// violations.
const axeJS = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
  .filter(v => v.impact === "critical" || v.impact === "serious")
  .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))})))`

type overflow struct {
	Over     float64  `json:"over"`
	Culprits []string `json:"culprits"`
}

type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// check audits the page: it navigates to path first unless path is ""
// (a page reached by a form, such as a confirmation), then checks it at
// every viewport, and leaves the browser at the desktop viewport.
func (a *auditor) check(name, path string) {
	a.t.Helper()
	if path != "" {
		if err := chromedp.Do(a.ctx, chromedp.Navigate(a.base+path), chromedp.WaitReady("body")); err != nil {
			a.t.Fatalf("audit %s: navigate %s: %v", name, path, err)
		}
	}
	a.pages = append(a.pages, name)
	for _, vp := range viewports {
		var opts []chromedp.EmulateViewportOption
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		var ov overflow
		var vs []violation
		var shot []byte
		err := chromedp.Do(a.ctx, chromedp.EmulateViewport(vp.w, vp.h, opts...),
			// one frame, so that the layout follows the new viewport
			chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise),
			capture(chromedp.Evaluate[overflow](overflowJS), &ov),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				// axe stays loaded until the page changes
				loaded, err := chromedp.Evaluate[bool](`typeof axe !== "undefined"`)(ctx, tg)
				if err == nil && !loaded {
					_, err = chromedp.Evaluate[chromedp.Void](axeSource)(ctx, tg)
				}
				return err
			}),
			capture(chromedp.Evaluate[[]violation](axeJS, chromedp.EvalAwaitPromise), &vs),
			capture(chromedp.CaptureScreenshot(), &shot))
		if err != nil {
			a.t.Fatalf("audit %s at %s: %v", name, vp.name, err)
		}
		file := fmt.Sprintf("%s-%s.png", fileSafe(name), vp.name)
		if err := os.WriteFile(filepath.Join(a.out, "audit-"+file), shot, 0o644); err != nil {
			a.t.Fatal(err)
		}
		if a.docs != "" && screenshotPages[name] {
			if err := os.WriteFile(filepath.Join(a.docs, file), shot, 0o644); err != nil {
				a.t.Fatal(err)
			}
		}
		if ov.Over > 0 {
			a.t.Errorf("%s at %s (%d px): the page is %.0f px wider than the viewport; sticking out: %v", name, vp.name, vp.w, ov.Over, ov.Culprits)
		}
		for _, v := range vs {
			a.t.Errorf("%s at %s: axe %s violation %s (%s) at %s", name, vp.name, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, ", "))
		}
	}
	if err := chromedp.Do(a.ctx, chromedp.EmulateViewport(viewports[0].w, viewports[0].h)); err != nil {
		a.t.Fatal(err)
	}
}
