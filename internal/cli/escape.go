package cli

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// printable returns s safe to show on a terminal: control characters (C0,
// DEL, C1, so also tab and newline) and bytes that are not UTF-8 become Go
// escapes (\x1b, \n, \u009b, \xff). What the CLI prints comes partly from
// outside (request paths and error messages in "status", status reasons
// quoting a manifest), and a raw ESC or BEL there would drive the
// operator's terminal: clear the screen, set its title, fake output.
func printable(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case r < 0x20 || (r >= 0x7f && r < 0xa0):
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u009b'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// printableText is printable for text of several lines (errors,
// warnings, cobra's indented suggestions): its newlines and tabs stay,
// neither can drive a terminal.
func printableText(s string) string {
	if !strings.ContainsAny(s, "\n\t") {
		return printable(s)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		cells := strings.Split(l, "\t")
		for j, c := range cells {
			cells[j] = printable(c)
		}
		lines[i] = strings.Join(cells, "\t")
	}
	return strings.Join(lines, "\n")
}
