package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	core "github.com/lambdagate/lambdagate/api/core/v1"
	gloo "github.com/lambdagate/lambdagate/api/gloo/v1"
	"github.com/lambdagate/lambdagate/internal/awscreds"
	"github.com/lambdagate/lambdagate/internal/resource"
	"github.com/lambdagate/lambdagate/internal/store"
	"github.com/lambdagate/lambdagate/internal/translate"
)

// createOutput holds the flags every "create" subcommand shares.
type createOutput struct {
	dryRun      bool
	output      string
	showSecrets bool
}

func (c *createOutput) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&c.dryRun, "dry-run", false, "print what would be created (with -o) without writing it")
	f.StringVarP(&c.output, "output", "o", "", "with --dry-run, print the resource: yaml or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"yaml", "json"}, cobra.ShellCompDirectiveNoFileComp))
}

func newCreateCommand(g *globals) *cobra.Command {
	create := groupCommand(&cobra.Command{
		Use:   "create",
		Short: "Create a secret or an upstream from flags, as glooctl create does",
	})
	secret := groupCommand(&cobra.Command{
		Use:   "secret",
		Short: "Create a secret",
	})
	upstream := groupCommand(&cobra.Command{
		Use:     "upstream",
		Aliases: []string{"us"},
		Short:   "Create an upstream",
	})
	secret.AddCommand(newCreateSecretAWSCommand(g))
	upstream.AddCommand(newCreateUpstreamAWSCommand(g))
	create.AddCommand(secret, upstream)
	return create
}

type secretAWSOptions struct {
	name         string
	accessKey    string
	secretKey    string
	sessionToken string
	out          createOutput
}

func newCreateSecretAWSCommand(g *globals) *cobra.Command {
	var o secretAWSOptions
	cmd := &cobra.Command{
		Use:   "aws [NAME]",
		Short: "Create a secret holding AWS credentials for an upstream",
		Long: `Create a secret holding AWS credentials, in the plain Kubernetes form Gloo
writes (type Opaque, keys aws_access_key_id, aws_secret_access_key and
optionally aws_session_token).

Without --access-key and --secret-key the keys are read, as glooctl does, from
the AWS shared credentials file ($AWS_SHARED_CREDENTIALS_FILE or
~/.aws/credentials, and $AWS_CONFIG_FILE or ~/.aws/config), profile
$AWS_PROFILE or "default".`,
		Example: `  lambdagate create secret aws --name aws-creds --namespace gloo-system \
      --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY"`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := nameFromArgs(&o.name, args); err != nil {
				return err
			}
			return runCreateSecretAWS(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "name of the secret (required)")
	f.StringVar(&o.accessKey, "access-key", "", "AWS access key id (default: from the shared credentials file)")
	f.StringVar(&o.secretKey, "secret-key", "", "AWS secret access key (default: from the shared credentials file)")
	f.StringVar(&o.sessionToken, "session-token", "", "AWS session token for temporary credentials (optional)")
	o.out.register(cmd)
	f.BoolVar(&o.out.showSecrets, "show-secrets", false, "with --dry-run -o, print the values instead of "+redacted)
	return cmd
}

func runCreateSecretAWS(ctx context.Context, g *globals, o secretAWSOptions) error {
	if o.name == "" {
		return &usageError{errors.New("--name is required")}
	}
	if (o.accessKey == "") != (o.secretKey == "") {
		return &usageError{errors.New("--access-key and --secret-key must be given together (or neither, to read the AWS shared credentials file)")}
	}
	if o.accessKey == "" {
		id, key, token, err := sharedCredentials(ctx)
		if err != nil {
			return err
		}
		o.accessKey, o.secretKey = id, key
		if o.sessionToken == "" {
			o.sessionToken = token
		}
	}
	obj, _ := resource.New(resource.KindSecret)
	sec := obj.(*resource.Secret)
	sec.Metadata = core.ObjectMeta{Name: o.name, Namespace: g.namespaceFor("")}
	sec.Type = "Opaque"
	sec.Data = map[string][]byte{
		core.AWSAccessKeyID:     []byte(o.accessKey),
		core.AWSSecretAccessKey: []byte(o.secretKey),
	}
	if o.sessionToken != "" {
		sec.Data[core.AWSSessionToken] = []byte(o.sessionToken)
	}
	return createObject(ctx, g, obj, o.out)
}

// sharedCredentials reads static keys from the AWS shared files, as glooctl
// falls back to ~/.aws/credentials.
func sharedCredentials(ctx context.Context) (id, key, token string, err error) {
	profile := os.Getenv("AWS_PROFILE")
	if profile == "" {
		profile = "default"
	}
	credFile, confFile := os.Getenv("AWS_SHARED_CREDENTIALS_FILE"), os.Getenv("AWS_CONFIG_FILE")
	if home, herr := os.UserHomeDir(); herr == nil {
		if credFile == "" {
			credFile = filepath.Join(home, ".aws", "credentials")
		}
		if confFile == "" {
			confFile = filepath.Join(home, ".aws", "config")
		}
	}
	hint := "pass --access-key and --secret-key, or add aws_access_key_id and aws_secret_access_key to profile " + profile + " in " + credFile
	var files, confs []string
	if credFile != "" {
		files = []string{credFile}
	}
	if confFile != "" {
		confs = []string{confFile}
	}
	sc, err := config.LoadSharedConfigProfile(ctx, profile, func(o *config.LoadSharedConfigOptions) {
		o.CredentialsFiles = files
		o.ConfigFiles = confs
	})
	var notExist config.SharedConfigProfileNotExistError
	switch {
	case errors.As(err, &notExist):
		return "", "", "", withHint(fmt.Errorf("no --access-key/--secret-key given and no AWS profile %q in the shared credentials files", profile), hint)
	case err != nil:
		return "", "", "", withHint(fmt.Errorf("no --access-key/--secret-key given and reading the AWS shared credentials for profile %q failed: %w", profile, err), hint)
	}
	c := sc.Credentials
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return "", "", "", withHint(fmt.Errorf("no --access-key/--secret-key given and AWS profile %q has no static aws_access_key_id and aws_secret_access_key", profile), hint)
	}
	return c.AccessKeyID, c.SecretAccessKey, c.SessionToken, nil
}

type upstreamAWSOptions struct {
	name            string
	region          string
	secretName      string
	secretNamespace string
	roleARN         string
	endpointURL     string
	out             createOutput
}

func newCreateUpstreamAWSCommand(g *globals) *cobra.Command {
	var o upstreamAWSOptions
	cmd := &cobra.Command{
		Use:   "aws [NAME]",
		Short: "Create an AWS Lambda upstream",
		Example: `  lambdagate create upstream aws --name aws-upstream --namespace gloo-system \
      --aws-region us-east-1 --aws-secret-name aws-creds --aws-secret-namespace gloo-system`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := nameFromArgs(&o.name, args); err != nil {
				return err
			}
			return runCreateUpstreamAWS(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "name of the upstream (required)")
	f.StringVar(&o.region, "aws-region", "us-east-1", "AWS region of the functions")
	f.StringVar(&o.secretName, "aws-secret-name", "", "name of the secret with the AWS credentials (see: lambdagate create secret aws)")
	f.StringVar(&o.secretNamespace, "aws-secret-namespace", "", "namespace of that secret (default: the upstream's namespace)")
	f.StringVar(&o.roleARN, "aws-role-arn", "", "IAM role to assume on top of the credentials (optional)")
	f.StringVar(&o.endpointURL, "endpoint-url", "", `Lambda API base URL, e.g. "http://127.0.0.1:9001" for a local Lambda (lambdagate extension; default: AWS)`)
	o.out.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("aws-secret-name", g.completeNamesOf(resource.KindSecret))
	return cmd
}

func runCreateUpstreamAWS(ctx context.Context, g *globals, o upstreamAWSOptions) error {
	if o.name == "" {
		return &usageError{errors.New("--name is required")}
	}
	ns := g.namespaceFor("")
	obj, _ := resource.New(resource.KindUpstream)
	us := obj.(*resource.Upstream)
	us.Metadata = core.ObjectMeta{Name: o.name, Namespace: ns}
	us.Spec.AWS = &gloo.AWSUpstreamSpec{Region: o.region, RoleARN: o.roleARN, EndpointURL: o.endpointURL}
	if o.secretName != "" {
		secNS := o.secretNamespace
		if secNS == "" {
			secNS = ns
		}
		us.Spec.AWS.SecretRef = &core.ResourceRef{Name: o.secretName, Namespace: secNS}
	} else if o.secretNamespace != "" {
		return &usageError{errors.New("--aws-secret-namespace needs --aws-secret-name")}
	}
	return createObject(ctx, g, obj, o.out)
}

// createObject validates obj and stores it, or with --dry-run prints it.
func createObject(ctx context.Context, g *globals, obj resource.Object, out createOutput) error {
	switch out.output {
	case "", "yaml", "json":
	default:
		return &usageError{fmt.Errorf("--output: unsupported value %q: must be yaml or json", out.output)}
	}
	if out.output != "" && !out.dryRun {
		return &usageError{errors.New("-o prints the resource only with --dry-run")}
	}
	for _, w := range resource.Validate(obj).Warnings() {
		fmt.Fprintf(g.stderr, "Warning: %s: %s\n", printable(resource.Ref(obj)), printableText(w.String()))
	}
	if err := resource.Check(obj); err != nil {
		return err
	}
	if out.dryRun {
		if out.output != "" {
			return printObjects(g.stdout, out.output, []resource.Object{obj}, true, out.showSecrets)
		}
		fmt.Fprintf(g.stdout, "%s created (dry run)\n", objectName(obj))
		return nil
	}
	st, err := g.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if us, ok := obj.(*resource.Upstream); ok {
		warnMissingSecret(ctx, g, st, us)
	}
	if _, err := st.Create(ctx, obj); err != nil {
		if store.IsAlreadyExists(err) {
			m := obj.GetMetadata()
			return withHint(err, fmt.Sprintf("lambdagate delete %s %s -n %s, or change it with lambdagate apply -f",
				resource.Plural(obj.GetKind()), m.Name, m.Namespace))
		}
		return fmt.Errorf("creating %s: %w", resource.Ref(obj), err)
	}
	fmt.Fprintf(g.stdout, "%s created\n", objectName(obj))
	return nil
}

// warnMissingSecret tells the user early that the upstream will be rejected
// until its secret exists, or, without a secret, unless Settings provides
// credentials; creating it first is still allowed.
func warnMissingSecret(ctx context.Context, g *globals, st store.Store, us *resource.Upstream) {
	ref := us.Spec.AWS.SecretRef
	if ref == nil {
		if !settingsProvideCredentials(ctx, st) {
			fmt.Fprintf(g.stderr, "Warning: %s: no --aws-secret-name: it will be Rejected (%s) until it names a secret (lambdagate create secret aws --name NAME -n %s, then lambdagate create upstream aws ... --aws-secret-name NAME) or Settings %s/%s sets spec.gloo.awsOptions.enableCredentialsDiscovery or serviceAccountCredentials\n",
				resource.Ref(us), awscreds.NoSourceMessage, us.Metadata.Namespace, translate.SettingsNamespace, translate.SettingsName)
		}
		return
	}
	if _, err := st.Get(ctx, resource.KindSecret, ref.Namespace, ref.Name); store.IsNotFound(err) {
		fmt.Fprintf(g.stderr, "Warning: %s: spec.aws.secretRef: Secret %s/%s does not exist yet (create it with: lambdagate create secret aws --name %s -n %s)\n",
			resource.Ref(us), ref.Namespace, ref.Name, ref.Name, ref.Namespace)
	}
}

// settingsProvideCredentials reports whether the Settings the gateway reads
// give upstreams without a secret their credentials.
func settingsProvideCredentials(ctx context.Context, st store.Store) bool {
	o, err := st.Get(ctx, resource.KindSettings, translate.SettingsNamespace, translate.SettingsName)
	if err != nil {
		return false
	}
	gl := o.(*resource.Settings).Spec.Gloo
	if gl == nil || gl.AWSOptions == nil {
		return false
	}
	return gl.AWSOptions.CredentialsDiscovery() || gl.AWSOptions.ServiceAccountCredentials != nil
}

// nameFromArgs takes the resource name from the optional positional
// argument, as glooctl accepts both "aws NAME" and "aws --name NAME".
func nameFromArgs(name *string, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if *name != "" && *name != args[0] {
		return &usageError{fmt.Errorf("the name is given twice: %q and --name %q", args[0], *name)}
	}
	*name = args[0]
	return nil
}
