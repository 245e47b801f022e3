package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/hoophq/hoop/broker"
	"github.com/hoophq/hoop/config"
)

// EnvToken is where kube-credential finds the user's token first.
const EnvToken = "HOOP_TOKEN"

func newKubeCredential(g *globals) *cobra.Command {
	var tokenFile string
	cmd := &cobra.Command{
		Use:   "kube-credential [--token-file FILE]",
		Short: "kubectl exec credential plugin: print an ExecCredential with your token",
		Long: `kube-credential is a client-go exec credential plugin (the kubeconfig that
hoopctl kubeconfig writes runs it): it prints an ExecCredential holding your
hoop token, from $` + EnvToken + ` or --token-file, with the token's expiry so
that kubectl asks again when it runs out.`,
		Args: args(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			tok, err := userToken(tokenFile)
			if err != nil {
				return err
			}
			cred := clientauthv1.ExecCredential{
				TypeMeta: metav1.TypeMeta{APIVersion: clientauthv1.SchemeGroupVersion.String(), Kind: "ExecCredential"},
				Status:   &clientauthv1.ExecCredentialStatus{Token: tok},
			}
			var c jwt.RegisteredClaims
			if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err == nil && c.ExpiresAt != nil {
				exp := metav1.NewTime(c.ExpiresAt.Time)
				cred.Status.ExpirationTimestamp = &exp
				if time.Now().After(c.ExpiresAt.Time) {
					return errors.New("kube-credential: your hoop token expired; get a new one")
				}
			}
			enc := json.NewEncoder(g.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(&cred)
		},
	}
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from FILE (default $"+EnvToken+")")
	return cmd
}

// userToken is the caller's token: $HOOP_TOKEN, else the token file.
func userToken(file string) (string, error) {
	if t := strings.TrimSpace(os.Getenv(EnvToken)); t != "" {
		return t, nil
	}
	if file == "" {
		return "", fmt.Errorf("kube-credential: no token: set $%s or pass --token-file", EnvToken)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("kube-credential: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("kube-credential: %s is empty", file)
	}
	return t, nil
}

func newKubeconfig(g *globals) *cobra.Command {
	var (
		path, server, ca, ctxName, namespace, tokenFile string
		noSwitch                                        bool
	)
	cmd := &cobra.Command{
		Use:   "kubeconfig CONNECTION [--config broker.yaml | --server-url URL --certificate-authority FILE]",
		Short: "Write a kubeconfig context for a kube connection",
		Long: `kubeconfig adds a cluster, a user and a context for a kube connection of the
broker to a kubeconfig ($KUBECONFIG's first file, else ~/.kube/config, or
--kubeconfig) and makes it current. The user authenticates with hoopctl
kube-credential, so no token is written into the file.

The broker's address and certificate come from --config (the broker's
configuration), or from --server-url and --certificate-authority.`,
		Args: args(1, "CONNECTION"),
		RunE: func(cmd *cobra.Command, a []string) error {
			name := a[0]
			if server == "" || ca == "" {
				if g.config == "" {
					return usagef("kubeconfig: pass --config with the broker's configuration, or --server-url and --certificate-authority")
				}
				cfg, err := config.LoadClient(g.config)
				if err != nil {
					return err
				}
				conn := cfg.Connection(name)
				if conn == nil || conn.Protocol != "kube" {
					return fmt.Errorf("kubeconfig: %s has no kube connection %q", g.config, name)
				}
				if server == "" {
					server = "https://" + strings.TrimPrefix(dialAddr(conn.Listen), "http://")
				}
				if ca == "" && conn.TLS.Mode != "off" {
					ca = conn.TLS.Cert
					if ca == "" {
						ca = filepath.Join(cfg.Broker.DataDir, broker.CertFile)
					}
				}
			}
			if ctxName == "" {
				ctxName = "hoop-" + name
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if path == "" {
				path = defaultKubeconfig()
			}
			if ca != "" {
				if ca, err = filepath.Abs(ca); err != nil {
					return err
				}
			}
			kc, err := clientcmd.LoadFromFile(path)
			if errors.Is(err, os.ErrNotExist) {
				kc, err = clientcmdapi.NewConfig(), nil
			}
			if err != nil {
				return fmt.Errorf("kubeconfig: %s: %w", path, err)
			}
			cluster := clientcmdapi.NewCluster()
			cluster.Server, cluster.CertificateAuthority = server, ca
			kc.Clusters[ctxName] = cluster
			execArgs := []string{"kube-credential"}
			if tokenFile != "" {
				abs, err := filepath.Abs(tokenFile)
				if err != nil {
					return err
				}
				execArgs = append(execArgs, "--token-file", abs)
			}
			user := clientcmdapi.NewAuthInfo()
			user.Exec = &clientcmdapi.ExecConfig{
				APIVersion:      clientauthv1.SchemeGroupVersion.String(),
				Command:         self,
				Args:            execArgs,
				InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
				InstallHint:     "hoopctl kube-credential needs your hoop token in $" + EnvToken + " or --token-file",
			}
			kc.AuthInfos[ctxName] = user
			kctx := clientcmdapi.NewContext()
			kctx.Cluster, kctx.AuthInfo, kctx.Namespace = ctxName, ctxName, namespace
			kc.Contexts[ctxName] = kctx
			if !noSwitch {
				kc.CurrentContext = ctxName
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			if err := clientcmd.WriteToFile(*kc, path); err != nil {
				return fmt.Errorf("kubeconfig: %w", err)
			}
			fmt.Fprintf(g.stdout, "context %q for %s written to %s\n", ctxName, server, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "kubeconfig", "", "the kubeconfig file to write (default $KUBECONFIG's first file or ~/.kube/config)")
	f.StringVar(&server, "server-url", "", "the connection's address, https://HOST:PORT (default from --config)")
	f.StringVar(&ca, "certificate-authority", "", "the broker's listener certificate (default from --config)")
	f.StringVar(&ctxName, "context", "", "the context, cluster and user name (default hoop-CONNECTION)")
	f.StringVar(&namespace, "namespace", "", "the context's default namespace")
	f.StringVar(&tokenFile, "token-file", "", "the file kube-credential reads your token from (default $"+EnvToken+" at run time)")
	f.BoolVar(&noSwitch, "no-switch", false, "do not make the context current")
	return cmd
}

func defaultKubeconfig() string {
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return filepath.SplitList(env)[0]
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kube", "config")
}
