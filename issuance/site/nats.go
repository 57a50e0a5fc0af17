package site

import (
	"fmt"
	"regexp"
	"strings"
)

// Workflow streams and subjects the permissions name. They are the values of package
// workflow's constants (site cannot import workflow, which imports the broker that
// imports site); TestPermissionsNameWorkflowSubjects keeps them equal.
const (
	JobsStream = "CCCD_JOBS"
	JobSubject = "cccd.job.perso."
)

// Roles of the NATS users. A client's certificate common name is its role; the server
// maps it to the user of that name (nats-server verify_and_map).
const (
	RoleServe   = "serve"   // the engine: relay, stages, administration; everything
	RoleCounter = "counter" // office counters: no production subject at all
	// A station of line L is "station-L" (StationRole).
)

var lineName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// StationRole is the role of the stations of a line.
func StationRole(line string) string { return "station-" + line }

// InboxPrefix is the reply-subject prefix of a role: each role may subscribe to its own
// replies only, so that no client reads another's answers.
func InboxPrefix(role string) string { return "_INBOX_" + role }

// Permissions are the subjects a NATS user may publish to and subscribe to; nothing
// else is allowed.
type Permissions struct {
	Publish   []string
	Subscribe []string
}

// RolePermissions is what a role may do on the broker (NATS subject permissions,
// JetStream API subjects per ADR-1 of nats-architecture-and-design):
//   - serve: everything (it creates the streams and consumers and relays the outbox);
//   - station-L: create and read its line's durable work-queue consumer (perso-L,
//     filtered on cccd.job.perso.L), fetch its messages and acknowledge them, which is
//     how a station reports a job's outcome to the broker (the outcome itself is
//     committed to PostgreSQL and reaches the bus through the outbox);
//   - counter: reach JetStream's account info and nothing else: no job, no event.
func RolePermissions(role string) (Permissions, error) {
	switch {
	case role == RoleServe:
		return Permissions{Publish: []string{">"}, Subscribe: []string{">"}}, nil
	case role == RoleCounter:
		return Permissions{Publish: []string{"$JS.API.INFO"}, Subscribe: []string{InboxPrefix(role) + ".>"}}, nil
	case strings.HasPrefix(role, "station-") && lineName.MatchString(strings.TrimPrefix(role, "station-")):
		line := strings.TrimPrefix(role, "station-")
		durable := JobsStream + ".perso-" + line
		return Permissions{
			Publish: []string{
				"$JS.API.INFO",
				"$JS.API.CONSUMER.CREATE." + durable + "." + JobSubject + line,
				"$JS.API.CONSUMER.DURABLE.CREATE." + durable,
				"$JS.API.CONSUMER.INFO." + durable,
				"$JS.API.CONSUMER.MSG.NEXT." + durable,
				"$JS.ACK." + durable + ".>",
			},
			Subscribe: []string{InboxPrefix(role) + ".>"},
		}, nil
	}
	return Permissions{}, fmt.Errorf("site: role %q: want %s, %s or station-LINE (line: 1-32 letters, digits, _ or -)", role, RoleServe, RoleCounter)
}

// Roles are the roles of a site with these production lines.
func Roles(lines []string) []string {
	r := []string{RoleServe, RoleCounter}
	for _, l := range lines {
		r = append(r, StationRole(l))
	}
	return r
}

// NATSNode is one node of a site's NATS JetStream cluster.
type NATSNode struct {
	Name     string
	Host     string // address it listens on
	Port     int    // client port
	Cluster  int    // route port
	StoreDir string
}

// NATSServerConfig is the nats-server configuration file of node self in a cluster of
// nodes (one node: no cluster block): clients and routes over TLS with certificates of
// the site CA (verify), client certificates mapped to the users of roles with their
// permissions. certFile and keyFile are the node's own certificate (hosts: its address).
func NATSServerConfig(self NATSNode, nodes []NATSNode, roles []string, caFile, certFile, keyFile string) (string, error) {
	var b strings.Builder
	tlsBlock := func(indent string, mapUsers bool) {
		fmt.Fprintf(&b, "%stls {\n%s  cert_file: %q\n%s  key_file: %q\n%s  ca_file: %q\n%s  verify: true\n", indent, indent, certFile, indent, keyFile, indent, caFile, indent)
		if mapUsers {
			fmt.Fprintf(&b, "%s  verify_and_map: true\n", indent)
		}
		fmt.Fprintf(&b, "%s  timeout: 5\n%s}\n", indent, indent)
	}
	fmt.Fprintf(&b, "server_name: %q\nlisten: %q\n", self.Name, fmt.Sprintf("%s:%d", self.Host, self.Port))
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n}\n", self.StoreDir)
	tlsBlock("", true)
	b.WriteString("authorization {\n  users = [\n")
	for _, r := range roles {
		p, err := RolePermissions(r)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "    { user: %q, permissions: { publish: { allow: %s }, subscribe: { allow: %s } } }\n",
			"CN="+r, quoteList(p.Publish), quoteList(p.Subscribe))
	}
	b.WriteString("  ]\n}\n")
	if len(nodes) > 1 {
		fmt.Fprintf(&b, "cluster {\n  name: \"cccd\"\n  listen: %q\n", fmt.Sprintf("%s:%d", self.Host, self.Cluster))
		tlsBlock("  ", false)
		b.WriteString("  routes = [\n")
		for _, n := range nodes {
			if n.Name != self.Name {
				fmt.Fprintf(&b, "    %q\n", fmt.Sprintf("tls://%s:%d", n.Host, n.Cluster))
			}
		}
		b.WriteString("  ]\n}\n")
	}
	return b.String(), nil
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
