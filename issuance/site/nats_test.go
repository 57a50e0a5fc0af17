package site_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/issuance/site"
	"github.com/cccd-project/cccd/issuance/workflow"
)

// TestPermissionsNameWorkflowSubjects: the subjects the roles are given are the
// workflow's.
func TestPermissionsNameWorkflowSubjects(t *testing.T) {
	if site.JobsStream != workflow.JobsStream || site.JobSubject != workflow.JobSubject {
		t.Fatalf("site names %s/%s, workflow %s/%s", site.JobsStream, site.JobSubject, workflow.JobsStream, workflow.JobSubject)
	}
}

// TestRolePermissions refuses unknown roles and bad line names.
func TestRolePermissions(t *testing.T) {
	for _, bad := range []string{"", "admin", "station-", "station-L1.>", "station-" + strings.Repeat("x", 33), "station-*"} {
		if _, err := site.RolePermissions(bad); err == nil {
			t.Errorf("role %q accepted", bad)
		}
	}
	p, err := site.RolePermissions("station-L7")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Publish {
		if strings.Contains(s, "*") || (strings.Contains(s, ">") && !strings.HasPrefix(s, "$JS.ACK.CCCD_JOBS.perso-L7.")) {
			t.Errorf("station permission %q reaches beyond its line", s)
		}
	}
}

// TestNATSServerConfig: the configuration of a cluster node is accepted by the Debian
// nats-server (`nats-server -t`).
func TestNATSServerConfig(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Fatalf("nats-server (Debian package nats-server, scripts/deps.sh): %v", err)
	}
	dir := t.TempDir()
	ca, err := site.OpenCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ca.Issue("nats-a", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	nodes := []site.NATSNode{{Name: "a", Host: "127.0.0.1", Port: 4301, Cluster: 6301, StoreDir: filepath.Join(dir, "a")},
		{Name: "b", Host: "127.0.0.1", Port: 4302, Cluster: 6302, StoreDir: filepath.Join(dir, "b")}}
	conf, err := site.NATSServerConfig(nodes[0], nodes, site.Roles([]string{"L1"}), ca.CAFile(), id.CertFile, id.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "a.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-c", file).CombinedOutput(); err != nil {
		t.Fatalf("nats-server -t: %v\n%s\n%s", err, out, conf)
	}
}
