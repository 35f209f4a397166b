// Package dashboard serves the web dashboard's built assets, embedded in the
// binary. The sources are in web/ at the repository root;
// scripts/build-dashboard.sh builds them into dist/ with the locked npm
// dependencies, and the built files are committed so that "go build" needs
// no Node.js. TestDistIsReproducible checks that dist/ is what the sources
// and the lockfile build.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed all:dist
var dist embed.FS

// FS returns the built assets (index.html at the root).
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is embedded above, so Sub cannot fail
	}
	return sub
}

// Handler serves the dashboard. Assets under /assets/ have content hashes in
// their names and are cached; index.html is always revalidated so a new
// build shows at once.
func Handler() http.Handler {
	files := http.FileServerFS(FS())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) > len("/assets/") && r.URL.Path[:len("/assets/")] == "/assets/" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
