package kube_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The tests run a real etcd and kube-apiserver through envtest. The
// binaries are built and cached by scripts/k8s-assets.sh (scripts/setup.sh
// runs it); KUBEBUILDER_ASSETS may point elsewhere.
var (
	testEnv    *envtest.Environment
	testCfg    *rest.Config
	assetsDir  string
	repoRoot   string
	kubeconfig string // admin kubeconfig file for kubectl
)

// k8sVersion must match scripts/k8s-assets.sh.
const k8sVersion = "1.34.4"

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Join(filepath.Dir(file), "..", "..", "..")
	assetsDir = os.Getenv("KUBEBUILDER_ASSETS")
	if assetsDir == "" {
		home, _ := os.UserHomeDir()
		assetsDir = filepath.Join(home, ".cache", "lambdagate", "k8s", "v"+k8sVersion)
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assetsDir, b)); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: the Kubernetes test binaries are missing: %s (%v).\n"+
				"Run scripts/setup.sh (it calls scripts/k8s-assets.sh, which builds kube-apiserver and kubectl v%s and copies etcd), or set KUBEBUILDER_ASSETS.\n",
				filepath.Join(assetsDir, b), err, k8sVersion)
			return 1
		}
	}
	certDir, err := os.MkdirTemp("", "lambdagate-envtest-certs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(certDir)
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "deploy", "crds")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assetsDir,
	}
	// A fixed certificate directory keeps the serving certificate across
	// an API server restart (TestAPIServerRestart).
	testEnv.ControlPlane.GetAPIServer().CertDir = certDir
	// Its graceful shutdown waits on open watches for longer than tests
	// should; after this envtest kills it.
	testEnv.ControlPlane.GetAPIServer().StopTimeout = 5 * time.Second
	testCfg, err = testEnv.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: starting envtest with the binaries in %s: %v\n", assetsDir, err)
		return 1
	}
	defer func() {
		if err := testEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	user, err := testEnv.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "adding the admin user:", err)
		return 1
	}
	kc, err := user.KubeConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "admin kubeconfig:", err)
		return 1
	}
	kubeconfig = filepath.Join(certDir, "admin.kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
