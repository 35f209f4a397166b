//go:build !linux

package locallambda

import (
	"os"
	"os/exec"
)

// Outside Linux the process is ended alone (no process group) and output
// flushing and memory reporting are not available.
func setProcessGroup(cmd *exec.Cmd) {}

func killProcessGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func pendingBytes(f *os.File) (int, bool) { return 0, false }

func peakRSSMB(pid int) int { return 0 }
