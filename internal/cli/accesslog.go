package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// accessLogger opens the access log chosen by --access-log and
// --access-log-format. Application logs stay on stderr, so by default
// stdout carries only access log lines, one JSON object each.
func (o *serveOptions) accessLogger(g *globals) (*slog.Logger, func(), error) {
	var w io.Writer
	closeFn := func() {}
	switch o.accessLog {
	case "off", "":
		return nil, closeFn, nil
	case "stdout", "-":
		w = g.stdout
	case "stderr":
		w = g.stderr
	default:
		f, err := os.OpenFile(o.accessLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, nil, withHint(fmt.Errorf("--access-log %q: %w", o.accessLog, err), "lambdagate serve --access-log stdout")
		}
		w, closeFn = f, func() { f.Close() }
	}
	// The level says nothing in an access log; leave it out.
	ho := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.LevelKey {
			return slog.Attr{}
		}
		return a
	}}
	switch o.accessLogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), closeFn, nil
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), closeFn, nil
	}
	closeFn()
	return nil, nil, withHint(fmt.Errorf("--access-log-format %q: must be json or text", o.accessLogFormat), "lambdagate serve --access-log-format json")
}
