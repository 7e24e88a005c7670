package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization this base uses;
// decoding it strictly rejects misspelt fields.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Labels     []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
		IncludeTemplates bool              `json:"includeTemplates"`
	} `json:"labels,omitempty"`
}

// manifests holds every decoded object of deploy/k8s, by kind and name.
type manifests struct {
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
	pdbs         map[string]*policyv1.PodDisruptionBudget
	jobs         map[string]*batchv1.Job
	files        []string
}

// strictDecode decodes one YAML document into v the way the API server
// does with fieldValidation=Strict: YAML to JSON (duplicate keys rejected),
// then sigs.k8s.io/json's case-sensitive decoder, rejecting unknown and
// duplicate fields. (encoding/json alone would match "targetport" to
// targetPort.)
func strictDecode(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strict...)
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "deploy", "k8s")
	m := manifests{
		deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{}, services: map[string]*corev1.Service{},
		configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
		jobs: map[string]*batchv1.Job{},
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in %s: %v", dir, err)
	}
	for _, p := range paths {
		if filepath.Base(p) == "kustomization.yaml" {
			continue
		}
		m.files = append(m.files, filepath.Base(p))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---")) {
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			if err := m.add(doc); err != nil {
				t.Errorf("%s (document %d): %v", filepath.Base(p), i+1, err)
			}
		}
	}
	return m
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func (m *manifests) add(doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	var err error
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 Deployment":
		err = decodeNamed(doc, m.deployments)
	case "apps/v1 StatefulSet":
		err = decodeNamed(doc, m.statefulSets)
	case "v1 Service":
		err = decodeNamed(doc, m.services)
	case "v1 ConfigMap":
		err = decodeNamed(doc, m.configMaps)
	case "v1 Secret":
		err = decodeNamed(doc, m.secrets)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		err = decodeNamed(doc, m.hpas)
	case "policy/v1 PodDisruptionBudget":
		err = decodeNamed(doc, m.pdbs)
	case "batch/v1 Job":
		err = decodeNamed(doc, m.jobs)
	default:
		return fmt.Errorf("unexpected apiVersion/kind %q %q", head.APIVersion, head.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", head.Kind, err)
	}
	return nil
}

// decodeNamed strictly decodes doc into a new T and files it under its
// metadata.name, which must be set.
func decodeNamed[T any, P interface {
	*T
	GetName() string
}](doc []byte, into map[string]P) error {
	v := P(new(T))
	if err := strictDecode(doc, v); err != nil {
		return err
	}
	if v.GetName() == "" {
		return errors.New("without metadata.name")
	}
	into[v.GetName()] = v
	return nil
}

// The strict decoder must reject what a lenient one would drop silently.
func TestStrictDecodeRejectsUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n",
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetport: 8080}]}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {A: b}\ndata: {A: c}\n",
	} {
		m := manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}}
		if err := m.add([]byte(doc)); err == nil {
			t.Errorf("accepted %q", doc)
		}
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "k8s")
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := strictDecode(b, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: apiVersion %q kind %q", k.APIVersion, k.Kind)
	}
	m := loadManifests(t)
	for _, f := range m.files {
		if !slices.Contains(k.Resources, f) {
			t.Errorf("kustomization.yaml does not list %s", f)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(dir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	root := repoRoot(t)
	m := loadManifests(t)
	services := map[string]struct {
		port   int32
		config string
	}{
		"authserver":     {8000, "authserver/cmd/authserver/config.go"},
		"resourceserver": {8001, "resourceserver/cmd/resourceserver/config.go"},
	}
	for name, want := range services {
		d, ok := m.deployments[name]
		if !ok {
			t.Errorf("no Deployment %s", name)
			continue
		}
		sel := d.Spec.Selector.MatchLabels
		if len(sel) == 0 || !subset(sel, d.Spec.Template.Labels) {
			t.Errorf("Deployment %s: selector %v does not match its pod labels %v", name, sel, d.Spec.Template.Labels)
		}
		pod := d.Spec.Template.Spec
		if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("Deployment %s: pod securityContext.runAsNonRoot is not true", name)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("Deployment %s: want one container, got %d", name, len(pod.Containers))
		}
		c := pod.Containers[0]
		all := append(slices.Clone(pod.InitContainers), c)
		for _, cc := range all {
			sc := cc.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("Deployment %s container %s: want runAsNonRoot, readOnlyRootFilesystem, no privilege escalation", name, cc.Name)
			}
			if cc.Resources.Requests.Cpu().IsZero() || cc.Resources.Requests.Memory().IsZero() || cc.Resources.Limits.Memory().IsZero() {
				t.Errorf("Deployment %s container %s: want cpu/memory requests and a memory limit", name, cc.Name)
			}
			if !strings.HasPrefix(cc.Image, "portcullis/"+name+":") {
				t.Errorf("Deployment %s container %s: image %q", name, cc.Name, cc.Image)
			}
		}
		if !slices.ContainsFunc(pod.InitContainers, func(ic corev1.Container) bool { return slices.Equal(ic.Args, []string{"migrate"}) }) &&
			len(m.jobs) == 0 {
			t.Errorf("Deployment %s: no migrate initContainer (and no migrate Job)", name)
		}
		// Probes: readiness on /readyz, liveness on /healthz, on the serving port.
		portByName := map[string]int32{}
		for _, p := range c.Ports {
			portByName[p.Name] = p.ContainerPort
		}
		if portByName["http"] != want.port {
			t.Errorf("Deployment %s: container port http=%d, want %d", name, portByName["http"], want.port)
		}
		for kind, probe := range map[string]struct {
			p    *corev1.Probe
			path string
		}{"readiness": {c.ReadinessProbe, "/readyz"}, "liveness": {c.LivenessProbe, "/healthz"}} {
			if probe.p == nil || probe.p.HTTPGet == nil {
				t.Errorf("Deployment %s: no HTTP %s probe", name, kind)
				continue
			}
			if probe.p.HTTPGet.Path != probe.path {
				t.Errorf("Deployment %s: %s probe path %q, want %s", name, kind, probe.p.HTTPGet.Path, probe.path)
			}
			if resolvePort(probe.p.HTTPGet.Port, portByName) != want.port {
				t.Errorf("Deployment %s: %s probe port %s is not %d", name, kind, probe.p.HTTPGet.Port.String(), want.port)
			}
		}
		// Config: every referenced ConfigMap/Secret exists, keys are real settings,
		// PORT matches the container port.
		known := configEnvNames(t, filepath.Join(root, want.config))
		env := map[string]string{}
		for _, ef := range c.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				cm, ok := m.configMaps[ef.ConfigMapRef.Name]
				if !ok {
					t.Errorf("Deployment %s: envFrom ConfigMap %q does not exist", name, ef.ConfigMapRef.Name)
					continue
				}
				for k, v := range cm.Data {
					env[k] = v
				}
			case ef.SecretRef != nil:
				s, ok := m.secrets[ef.SecretRef.Name]
				if !ok {
					t.Errorf("Deployment %s: envFrom Secret %q does not exist", name, ef.SecretRef.Name)
					continue
				}
				for k, v := range s.StringData {
					env[k] = v
				}
			}
		}
		for k := range env {
			if !slices.Contains(known, k) {
				t.Errorf("Deployment %s gets %s, which %s does not read", name, k, want.config)
			}
		}
		for _, k := range []string{"PORT", "DATABASE_URL", "REDIS_URL", "REDIS_PREFIX"} {
			if _, ok := env[k]; !ok {
				t.Errorf("Deployment %s: %s is not configured", name, k)
			}
		}
		if env["PORT"] != strconv.Itoa(int(want.port)) {
			t.Errorf("Deployment %s: PORT=%q, want %d", name, env["PORT"], want.port)
		}
		// Draining: the grace period outlasts preStop plus SHUTDOWN_TIMEOUT.
		drain, _ := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
		var pre int64
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			pre = c.Lifecycle.PreStop.Sleep.Seconds
		}
		if grace := pod.TerminationGracePeriodSeconds; grace == nil || time.Duration(*grace)*time.Second <= drain+time.Duration(pre)*time.Second {
			t.Errorf("Deployment %s: terminationGracePeriodSeconds must exceed preStop %ds + SHUTDOWN_TIMEOUT %s", name, pre, drain)
		}

		svc, ok := m.services[name]
		if !ok {
			t.Errorf("no Service %s", name)
		} else {
			if !subset(svc.Spec.Selector, d.Spec.Template.Labels) || len(svc.Spec.Selector) == 0 {
				t.Errorf("Service %s: selector %v selects no pod of its Deployment", name, svc.Spec.Selector)
			}
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != want.port || resolvePort(svc.Spec.Ports[0].TargetPort, portByName) != want.port {
				t.Errorf("Service %s: ports %+v, want %d to the container's %d", name, svc.Spec.Ports, want.port, want.port)
			}
		}
		hpa, ok := m.hpas[name]
		if !ok {
			t.Errorf("no HorizontalPodAutoscaler %s", name)
		} else {
			ref := hpa.Spec.ScaleTargetRef
			if ref.Kind != "Deployment" || ref.Name != name || ref.APIVersion != "apps/v1" {
				t.Errorf("HPA %s targets %+v", name, ref)
			}
			if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas || len(hpa.Spec.Metrics) == 0 {
				t.Errorf("HPA %s: want minReplicas >= 2, maxReplicas >= min, and a metric", name)
			}
		}
		pdb, ok := m.pdbs[name]
		if !ok {
			t.Errorf("no PodDisruptionBudget %s", name)
		} else {
			if pdb.Spec.Selector == nil || !subset(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) || len(pdb.Spec.Selector.MatchLabels) == 0 {
				t.Errorf("PDB %s: selector does not match the Deployment's pods", name)
			}
			if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
				t.Errorf("PDB %s: neither minAvailable nor maxUnavailable", name)
			}
		}
	}
	// The resource servers must hear the auth servers' revocations.
	prefix := func(name string) []string {
		var out []string
		for _, ef := range m.deployments[name].Spec.Template.Spec.Containers[0].EnvFrom {
			if ef.ConfigMapRef != nil {
				if v, ok := m.configMaps[ef.ConfigMapRef.Name].Data["REDIS_PREFIX"]; ok {
					out = append(out, ef.ConfigMapRef.Name+"="+v)
				}
			}
		}
		return out
	}
	if a, r := prefix("authserver"), prefix("resourceserver"); len(a) != 1 || !slices.Equal(a, r) {
		t.Errorf("REDIS_PREFIX must come from one shared ConfigMap: authserver %v, resourceserver %v", a, r)
	}
	// Secrets hold placeholders only.
	for name, s := range m.secrets {
		if len(s.Data) > 0 {
			t.Errorf("Secret %s: use stringData placeholders, not data", name)
		}
		for k, v := range s.StringData {
			if !strings.Contains(v, "CHANGE-ME") {
				t.Errorf("Secret %s: %s is not a CHANGE-ME placeholder", name, k)
			}
		}
	}
}

func resolvePort(p intstr.IntOrString, byName map[string]int32) int32 {
	if p.Type == intstr.String {
		return byName[p.StrVal]
	}
	return p.IntVal
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestTrustedProxiesAreNamedNotARange: the base's TRUSTED_PROXIES may not
// trust a whole private range (issue 12: 10.0.0.0/8 let any pod claim any
// client address); an overlay names the ingress and the resource servers.
func TestTrustedProxiesAreNamedNotARange(t *testing.T) {
	m := loadManifests(t)
	cm, ok := m.configMaps["authserver-config"]
	if !ok {
		t.Fatal("no ConfigMap authserver-config")
	}
	v, ok := cm.Data["TRUSTED_PROXIES"]
	if !ok {
		t.Fatal("authserver-config does not set TRUSTED_PROXIES")
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			t.Fatalf("TRUSTED_PROXIES entry %q: %v", p, err)
		}
		if wide := pfx.Addr().Is4() && pfx.Bits() < 24 || pfx.Addr().Is6() && pfx.Bits() < 64; wide {
			t.Errorf("TRUSTED_PROXIES trusts %s, a whole range: name the ingress and resource servers instead", pfx)
		}
	}
}

// TestRunLocalTrustsTheLocalProxy: make run's resource server proxies
// /users/token/ over loopback with X-Forwarded-For, so the auth server it
// starts must trust loopback, or one client's failures throttle every
// proxied login (issue 12, defect 2).
func TestRunLocalTrustsTheLocalProxy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "run-local.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`TRUSTED_PROXIES="\$\{TRUSTED_PROXIES:-([^}"]*)\}"[^\n]*\\\n\s*bin/authserver serve`).FindSubmatch(b)
	if m == nil {
		t.Fatal("run-local.sh does not start the auth server with a TRUSTED_PROXIES default")
	}
	var v4, v6 bool
	for _, p := range strings.Split(string(m[1]), ",") {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(p))
		if err != nil {
			t.Fatalf("TRUSTED_PROXIES default %q: %v", p, err)
		}
		v4 = v4 || pfx.Contains(netip.MustParseAddr("127.0.0.1"))
		v6 = v6 || pfx.Contains(netip.IPv6Loopback())
		if !pfx.Addr().IsLoopback() {
			t.Errorf("run-local.sh trusts %s, which is not loopback", pfx)
		}
	}
	if !v4 || !v6 {
		t.Errorf("run-local.sh trusts %s: want 127.0.0.1 and ::1", m[1])
	}
}
