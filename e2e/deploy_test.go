package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/scorelens/scorelens/e2e/internal/otelcol"
)

// The deployment files under test, relative to the e2e module.
const (
	imageConfigPath   = "../deploy/image/config.yaml"
	k8sDir            = "../deploy/kubernetes"
	helmValuesPath    = "../deploy/helm/values.yaml"
	operatorCRPath    = "../deploy/operator/opentelemetrycollector.yaml"
	operatorSMPath    = "../deploy/operator/servicemonitor.yaml"
	eppPatchPath      = "../deploy/kubernetes/epp/tracing-env-patch.yaml"
	eppChartPath      = "../deploy/kubernetes/epp/router-values.yaml"
	chartDefaultsPath = "testdata/helm/opentelemetry-collector-0.170.0-values.yaml"

	// modeEnv switches the processor between strip and report in every shipped config.
	modeEnv = "SCORELENS_EPPSCORING_MODE"
)

// Manifests of kinds that k8s.io/api does not define are decoded strictly into
// these mirrors of the fields deploy/ uses: a field they lack is an error, so a
// misspelt or misplaced field cannot pass. They mirror the upstream CRDs'
// field names and shapes (monitoring.coreos.com/v1, opentelemetry.io/v1beta1).

type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector  `json:"selector"`
		Endpoints []serviceMonitorPoint `json:"endpoints"`
	} `json:"spec"`
}

type serviceMonitorPoint struct {
	Port        string `json:"port"`
	Path        string `json:"path,omitempty"`
	Interval    string `json:"interval,omitempty"`
	HonorLabels bool   `json:"honorLabels,omitempty"`
}

type openTelemetryCollector struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Mode               string                      `json:"mode"`
		Replicas           *int32                      `json:"replicas,omitempty"`
		Image              string                      `json:"image"`
		Env                []corev1.EnvVar             `json:"env,omitempty"`
		Resources          corev1.ResourceRequirements `json:"resources,omitempty"`
		PodSecurityContext *corev1.PodSecurityContext  `json:"podSecurityContext,omitempty"`
		SecurityContext    *corev1.SecurityContext     `json:"securityContext,omitempty"`
		Observability      struct {
			Metrics struct {
				EnableMetrics bool `json:"enableMetrics"`
			} `json:"metrics"`
		} `json:"observability"`
		Config map[string]any `json:"config"`
	} `json:"spec"`
}

// collectorChartValues mirrors the values of the OpenTelemetry Collector chart
// that deploy/helm/values.yaml sets.
type collectorChartValues struct {
	Mode         string `json:"mode"`
	ReplicaCount int32  `json:"replicaCount"`
	Image        struct {
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"image"`
	Command struct {
		Name string `json:"name"`
	} `json:"command"`
	ExtraEnvs       []corev1.EnvVar             `json:"extraEnvs"`
	Resources       corev1.ResourceRequirements `json:"resources"`
	SecurityContext corev1.SecurityContext      `json:"securityContext"`
	Ports           map[string]chartPort        `json:"ports"`
	ServiceMonitor  struct {
		Enabled          bool                  `json:"enabled"`
		MetricsEndpoints []serviceMonitorPoint `json:"metricsEndpoints"`
	} `json:"serviceMonitor"`
	Config map[string]any `json:"config"`
}

type chartPort struct {
	Enabled       bool   `json:"enabled"`
	ContainerPort int32  `json:"containerPort"`
	ServicePort   int32  `json:"servicePort"`
	HostPort      int32  `json:"hostPort,omitempty"`
	NodePort      int32  `json:"nodePort,omitempty"`
	Protocol      string `json:"protocol"`
	AppProtocol   string `json:"appProtocol,omitempty"`
}

// routerChartValues mirrors the tracing values of llm-d-router's charts
// (llm-d-router-gateway, llm-d-router-standalone).
type routerChartValues struct {
	Router struct {
		Tracing struct {
			Enabled              bool   `json:"enabled"`
			OtelExporterEndpoint string `json:"otelExporterEndpoint"`
			Sampling             struct {
				Sampler    string `json:"sampler"`
				SamplerArg string `json:"samplerArg"`
			} `json:"sampling"`
		} `json:"tracing"`
	} `json:"router"`
}

// k8sDecoder decodes core/v1 and apps/v1 objects strictly: unknown and
// duplicate fields are errors, as with `kubectl apply --validate=strict`.
func k8sDecoder() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}

// decodeStrict decodes one YAML document into out: a Kubernetes API object
// through the strict scheme decoder, anything else with sigs.k8s.io/yaml's
// strict mode (unknown or duplicate fields are errors).
func decodeStrict(doc []byte, out any) error {
	switch o := out.(type) {
	case runtime.Object:
		got, _, err := k8sDecoder().Decode(doc, nil, nil)
		if err != nil {
			return err
		}
		if reflect.TypeOf(got) != reflect.TypeOf(o) {
			return fmt.Errorf("decoded a %T, want a %T", got, o)
		}
		reflect.ValueOf(o).Elem().Set(reflect.ValueOf(got).Elem())
		return nil
	default:
		return yaml.UnmarshalStrict(doc, out)
	}
}

// readDoc reads a file that must hold exactly one YAML document.
func readDoc(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	if len(docs) != 1 {
		t.Fatalf("%s holds %d YAML documents, want 1", path, len(docs))
	}
	return docs[0]
}

// stripComments drops comment lines, so that a document of comments alone
// (a file's header before its first ---) does not count as a document.
func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l...)
			out = append(out, '\n')
		}
	}
	return out
}

// mustDecode strictly decodes the one document of path into out.
func mustDecode(t *testing.T, path string, out any) {
	t.Helper()
	if err := decodeStrict(readDoc(t, path), out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// deployManifests is every file under deploy/kubernetes, deploy/helm and
// deploy/operator, each with the type it must decode into.
func deployManifests() map[string]func() any {
	return map[string]func() any{
		k8sDir + "/configmap.yaml":      func() any { return &corev1.ConfigMap{} },
		k8sDir + "/deployment.yaml":     func() any { return &appsv1.Deployment{} },
		k8sDir + "/service.yaml":        func() any { return &corev1.Service{} },
		k8sDir + "/servicemonitor.yaml": func() any { return &serviceMonitor{} },
		eppPatchPath:                    func() any { return &appsv1.Deployment{} },
		eppChartPath:                    func() any { return &routerChartValues{} },
		helmValuesPath:                  func() any { return &collectorChartValues{} },
		operatorCRPath:                  func() any { return &openTelemetryCollector{} },
		operatorSMPath:                  func() any { return &serviceMonitor{} },
	}
}

// TestDeployManifestsDecodeStrictly decodes every deployment file into its
// Kubernetes API type (or the mirror of a CRD or chart's values), rejecting
// unknown fields; a file the test does not know is a failure, so a new
// manifest cannot go unchecked.
func TestDeployManifestsDecodeStrictly(t *testing.T) {
	want := deployManifests()
	var found []string
	for _, dir := range []string{k8sDir, k8sDir + "/epp", "../deploy/helm", "../deploy/operator"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				found = append(found, dir+"/"+e.Name())
			}
		}
	}
	for _, f := range found {
		if _, ok := want[f]; !ok {
			t.Errorf("%s: not checked by this test; add it to deployManifests", f)
		}
	}
	for path, newObj := range want {
		t.Run(strings.TrimPrefix(path, "../deploy/"), func(t *testing.T) {
			if !slices.Contains(found, path) {
				t.Fatalf("%s is missing", path)
			}
			obj := newObj()
			mustDecode(t, path, obj)
			// The mirrors of CRDs decode any apiVersion and kind: check them.
			var tm metav1.TypeMeta
			want := metav1.TypeMeta{}
			switch o := obj.(type) {
			case *serviceMonitor:
				tm, want = o.TypeMeta, metav1.TypeMeta{APIVersion: "monitoring.coreos.com/v1", Kind: "ServiceMonitor"}
			case *openTelemetryCollector:
				tm, want = o.TypeMeta, metav1.TypeMeta{APIVersion: "opentelemetry.io/v1beta1", Kind: "OpenTelemetryCollector"}
			}
			if tm != want {
				t.Errorf("%s is a %s %s, want a %s %s", path, tm.APIVersion, tm.Kind, want.APIVersion, want.Kind)
			}
		})
	}
}

// TestStrictDecodingRejectsUnknownFields proves each decoder above can fail:
// the same documents with one misspelt field are rejected.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	tests := []struct {
		path, from, to string
	}{
		{k8sDir + "/deployment.yaml", "  replicas: 1\n", "  replica: 1\n"},
		{k8sDir + "/service.yaml", "  type: ClusterIP\n", "  type: ClusterIP\n  typ: ClusterIP\n"},
		{k8sDir + "/configmap.yaml", "data:\n", "dta:\n"},
		{k8sDir + "/servicemonitor.yaml", "      honorLabels: true\n", "      honorLabel: true\n"},
		{operatorCRPath, "  mode: deployment\n", "  mode: deployment\n  replica: 1\n"},
		{helmValuesPath, "replicaCount: 1\n", "replicas: 1\n"},
		{eppChartPath, "    enabled: true\n", "    enable: true\n"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path)+"/"+strings.TrimSpace(tt.to), func(t *testing.T) {
			doc := readDoc(t, tt.path)
			if !bytes.Contains(doc, []byte(tt.from)) {
				t.Fatalf("%s lacks %q", tt.path, tt.from)
			}
			bad := bytes.Replace(doc, []byte(tt.from), []byte(tt.to), 1)
			if err := decodeStrict(bad, deployManifests()[tt.path]()); err == nil {
				t.Fatalf("%s with %q decoded without error", tt.path, strings.TrimSpace(tt.to))
			}
		})
	}
}

// cfgMap is a collector config as YAML decodes it.
type cfgMap = map[string]any

func parseConfig(t *testing.T, what string, b []byte) cfgMap {
	t.Helper()
	var m cfgMap
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(m) == 0 {
		t.Fatalf("%s: empty collector config", what)
	}
	return m
}

// dig walks nested maps by key.
func dig(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

// listenPorts lists every TCP port a collector config listens on, by what
// listens, and fails unless each listens on all interfaces (0.0.0.0).
func listenPorts(t *testing.T, what string, cfg cfgMap) map[string]int32 {
	t.Helper()
	out := map[string]int32{}
	endpoints := map[string][]string{
		"otlp/grpc":           {"receivers", "otlp", "protocols", "grpc", "endpoint"},
		"otlp/http":           {"receivers", "otlp", "protocols", "http", "endpoint"},
		"prometheus exporter": {"exporters", "prometheus", "endpoint"},
		"health_check":        {"extensions", "health_check", "endpoint"},
	}
	for name, path := range endpoints {
		ep, ok := dig(cfg, path...).(string)
		if !ok {
			t.Fatalf("%s: no %s endpoint at %s", what, name, strings.Join(path, "."))
		}
		host, port, err := net.SplitHostPort(ep)
		if err != nil {
			t.Fatalf("%s: %s endpoint %q: %v", what, name, ep, err)
		}
		if host != "0.0.0.0" {
			t.Errorf("%s: %s listens on %q, want all interfaces (0.0.0.0)", what, name, host)
		}
		p, err := strconv.ParseInt(port, 10, 32)
		if err != nil {
			t.Fatalf("%s: %s port %q: %v", what, name, port, err)
		}
		out[name] = int32(p)
	}
	readers, _ := dig(cfg, "service", "telemetry", "metrics", "readers").([]any)
	if len(readers) != 1 {
		t.Fatalf("%s: %d telemetry metric readers, want 1 (the pull exporter on :8888)", what, len(readers))
	}
	prom := dig(readers[0], "pull", "exporter", "prometheus")
	if host := dig(prom, "host"); host != "0.0.0.0" {
		t.Errorf("%s: the collector's own metrics listen on %v, want 0.0.0.0", what, host)
	}
	port, ok := dig(prom, "port").(float64)
	if !ok {
		t.Fatalf("%s: telemetry prometheus port %v", what, dig(prom, "port"))
	}
	out["telemetry"] = int32(port)
	return out
}

// helmMerge renders values over a chart's defaults as Helm does: maps merge
// key by key, null deletes the default's key, anything else replaces it.
func helmMerge(defaults, values map[string]any) map[string]any {
	out := make(map[string]any, len(defaults))
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range values {
		if v == nil {
			delete(out, k)
			continue
		}
		vm, vIsMap := v.(map[string]any)
		dm, dIsMap := out[k].(map[string]any)
		if vIsMap && dIsMap {
			out[k] = helmMerge(dm, vm)
			continue
		}
		out[k] = v
	}
	return out
}

// renderChartValues merges deploy/helm/values.yaml over the chart's default
// values (config and ports) as Helm does, and decodes the result strictly.
func renderChartValues(t *testing.T) collectorChartValues {
	t.Helper()
	var defaults, values map[string]any
	if err := yaml.Unmarshal(mustRead(t, chartDefaultsPath), &defaults); err != nil {
		t.Fatalf("%s: %v", chartDefaultsPath, err)
	}
	if err := yaml.Unmarshal(readDoc(t, helmValuesPath), &values); err != nil {
		t.Fatalf("%s: %v", helmValuesPath, err)
	}
	b, err := yaml.Marshal(helmMerge(defaults, values))
	if err != nil {
		t.Fatal(err)
	}
	var out collectorChartValues
	if err := yaml.UnmarshalStrict(b, &out); err != nil {
		t.Fatalf("%s rendered over %s: %v", helmValuesPath, chartDefaultsPath, err)
	}
	return out
}

// shippedConfigs is every collector config that deploy/ ships, as the
// collector would load it (the Helm one rendered over the chart's defaults).
type shippedConfig struct {
	name string
	cfg  cfgMap
	env  []string
}

func shippedConfigs(t *testing.T) []shippedConfig {
	t.Helper()
	imageB, err := os.ReadFile(imageConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	image := parseConfig(t, imageConfigPath, imageB)

	var cm corev1.ConfigMap
	mustDecode(t, k8sDir+"/configmap.yaml", &cm)
	cmCfg, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.yaml", cm.Name)
	}

	var otc openTelemetryCollector
	mustDecode(t, operatorCRPath, &otc)

	rendered := renderChartValues(t)
	// The chart's pod sets these; its default config refers to them.
	chartEnv := []string{"MY_POD_IP=127.0.0.1", "OTEL_K8S_NAMESPACE=llm-d", "OTEL_K8S_NODE_NAME=node-1",
		"OTEL_K8S_NODE_IP=127.0.0.1", "OTEL_K8S_POD_NAME=otelcol-dist-0", "OTEL_K8S_POD_IP=127.0.0.1"}

	return []shippedConfig{
		{name: "image", cfg: image},
		{name: "configmap", cfg: parseConfig(t, "ConfigMap config.yaml", []byte(cmCfg))},
		{name: "operator", cfg: otc.Spec.Config},
		{name: "helm", cfg: rendered.Config, env: chartEnv},
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeConfig(t *testing.T, cfg cfgMap) string {
	t.Helper()
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDeployCollectorConfigsValidate runs `otelcol-dist validate` on every
// collector config deploy/ ships, in both processor modes, and proves the
// mode's environment variable reaches the processor: a bad mode fails.
func TestDeployCollectorConfigsValidate(t *testing.T) {
	bin := collectorBinary(t)
	for _, sc := range shippedConfigs(t) {
		t.Run(sc.name, func(t *testing.T) {
			path := writeConfig(t, sc.cfg)
			for _, mode := range []string{"", "strip", "report", "scrub"} {
				env := slices.Clone(sc.env)
				if mode != "" {
					env = append(env, modeEnv+"="+mode)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := otelcol.Validate(ctx, bin, path, env)
				cancel()
				switch {
				case mode == "scrub" && (err == nil || !strings.Contains(err.Error(), "mode")):
					t.Errorf("%s=scrub: %v; want an error naming the processor's mode", modeEnv, err)
				case mode != "scrub" && err != nil:
					t.Errorf("%s=%q: %v", modeEnv, mode, err)
				}
			}
		})
	}
}

// TestDeployConfigsAgree holds the copies of the image's config equal: the
// ConfigMap and the Operator resource carry it unchanged, and the Helm values
// rendered over the chart's defaults give the same components and pipelines.
func TestDeployConfigsAgree(t *testing.T) {
	configs := shippedConfigs(t)
	image := configs[0].cfg
	for _, sc := range configs[1:] {
		t.Run(sc.name, func(t *testing.T) {
			keys := []string{"receivers", "processors", "connectors", "exporters", "extensions", "service"}
			if sc.name == "helm" {
				// The chart adds its own service.telemetry.resource (the pod's k8s attributes).
				keys = keys[:len(keys)-1]
				for _, k := range []string{"extensions", "pipelines"} {
					if !reflect.DeepEqual(dig(image, "service", k), dig(sc.cfg, "service", k)) {
						t.Errorf("service.%s: %v, image has %v", k, dig(sc.cfg, "service", k), dig(image, "service", k))
					}
				}
				if !reflect.DeepEqual(dig(image, "service", "telemetry", "metrics"), dig(sc.cfg, "service", "telemetry", "metrics")) {
					t.Errorf("service.telemetry.metrics differ from the image's")
				}
			}
			for _, k := range keys {
				if !reflect.DeepEqual(image[k], sc.cfg[k]) {
					got, _ := yaml.Marshal(sc.cfg[k])
					want, _ := yaml.Marshal(image[k])
					t.Errorf("%s differs from %s:\n%s\nwant:\n%s", k, imageConfigPath, got, want)
				}
			}
			var extra []string
			for k := range sc.cfg {
				if !slices.Contains([]string{"receivers", "processors", "connectors", "exporters", "extensions", "service"}, k) {
					extra = append(extra, k)
				}
			}
			if len(extra) > 0 {
				t.Errorf("unexpected top-level keys %v", extra)
			}
		})
	}
}

// TestKubernetesManifestsFit checks that the plain manifests fit together:
// the container exposes every port the config listens on, the Service routes
// to them, the probes hit the health check, the config is mounted where the
// args point, the ServiceMonitor selects the Service and keeps the connector's
// job label, and the EPP's settings point at the Service.
func TestKubernetesManifestsFit(t *testing.T) {
	var (
		cm  corev1.ConfigMap
		dep appsv1.Deployment
		svc corev1.Service
		sm  serviceMonitor
	)
	mustDecode(t, k8sDir+"/configmap.yaml", &cm)
	mustDecode(t, k8sDir+"/deployment.yaml", &dep)
	mustDecode(t, k8sDir+"/service.yaml", &svc)
	mustDecode(t, k8sDir+"/servicemonitor.yaml", &sm)
	cfg := parseConfig(t, "ConfigMap", []byte(cm.Data["config.yaml"]))
	ports := listenPorts(t, "ConfigMap", cfg)

	// Deployment: selector, one container, ports, probes, config mount, user.
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", sel, dep.Spec.Template.Labels)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		t.Errorf("replicas %v, want 1: the connector's join needs every span of a trace in one collector (docs/scaling.md)", dep.Spec.Replicas)
	}
	if n := len(dep.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("%d containers, want 1", n)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	byName := map[string]int32{}
	byPort := map[int32]string{}
	for _, p := range c.Ports {
		byName[p.Name] = p.ContainerPort
		byPort[p.ContainerPort] = p.Name
	}
	for what, p := range ports {
		if _, ok := byPort[p]; !ok {
			t.Errorf("the config's %s listens on %d; the container does not declare it", what, p)
		}
	}
	if len(byPort) != len(ports) {
		t.Errorf("the container declares ports %v; the config listens on %v", byPort, ports)
	}
	for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Fatalf("container %s lacks an HTTP liveness or readiness probe", c.Name)
		}
		if got := resolvePort(t, probe.HTTPGet.Port, byName); got != ports["health_check"] {
			t.Errorf("probe on port %d, the health check listens on %d", got, ports["health_check"])
		}
	}
	configArg := ""
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			configArg = v
		}
	}
	var mounted bool
	for _, vm := range c.VolumeMounts {
		for _, v := range dep.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; ok && filepath.Join(vm.MountPath, it.Path) == configArg {
					mounted = true
				}
			}
		}
	}
	if !mounted {
		t.Errorf("--config=%s is not the ConfigMap %s's config.yaml as mounted", configArg, cm.Name)
	}
	psc := dep.Spec.Template.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 10001 {
		t.Errorf("pod security context %+v: want runAsNonRoot and user 10001, the image's", psc)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == modeEnv }) {
		t.Errorf("container env lacks %s", modeEnv)
	}

	// Service: selects the pods, routes every port but the health check.
	svcSel := labels.SelectorFromSet(svc.Spec.Selector)
	if len(svc.Spec.Selector) == 0 || !svcSel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the Deployment's pods %v", svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	svcByName := map[string]int32{}
	for _, sp := range svc.Spec.Ports {
		target := resolvePort(t, sp.TargetPort, byName)
		if _, ok := byPort[target]; !ok {
			t.Errorf("Service port %s targets %v, not a container port", sp.Name, sp.TargetPort.String())
		}
		svcByName[sp.Name] = target
	}
	for what, p := range ports {
		if what == "health_check" {
			continue
		}
		if !slices.Contains(mapValues(svcByName), p) {
			t.Errorf("the Service does not route to the config's %s (%d)", what, p)
		}
	}

	// ServiceMonitor: selects the Service, scrapes both metrics ports, keeps job on the connector's.
	smSel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if smSel.Empty() || !smSel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", smSel, svc.Labels)
	}
	checkScrapes(t, sm.Spec.Endpoints, svcByName, ports)

	// The EPP's settings point at the Service's OTLP/gRPC port.
	var patch appsv1.Deployment
	mustDecode(t, eppPatchPath, &patch)
	if n := len(patch.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("EPP patch: %d containers, want 1", n)
	}
	env := map[string]string{}
	for _, e := range patch.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	wantEnv := map[string]string{
		"OTEL_TRACES_EXPORTER":    "otlp",
		"OTEL_TRACES_SAMPLER":     "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG": "0.1",
		"OTEL_SERVICE_NAME":       "llm-d-router/epp",
	}
	for k, v := range wantEnv {
		if env[k] != v {
			t.Errorf("EPP env %s=%q, want %q", k, env[k], v)
		}
	}
	checkEndpoint(t, "EPP env OTEL_EXPORTER_OTLP_ENDPOINT", env["OTEL_EXPORTER_OTLP_ENDPOINT"], svc, ports["otlp/grpc"])

	var chart routerChartValues
	mustDecode(t, eppChartPath, &chart)
	tr := chart.Router.Tracing
	if !tr.Enabled || tr.Sampling.Sampler != env["OTEL_TRACES_SAMPLER"] || tr.Sampling.SamplerArg != env["OTEL_TRACES_SAMPLER_ARG"] {
		t.Errorf("llm-d-router chart tracing values %+v disagree with the env patch %v", tr, env)
	}
	checkEndpoint(t, "router.tracing.otelExporterEndpoint", tr.OtelExporterEndpoint, svc, ports["otlp/grpc"])
}

// checkScrapes checks that the scrape endpoints cover both metrics ports, by
// the name under which they are exposed, and that only the connector's
// (the prometheus exporter's) honors the series' own labels.
func checkScrapes(t *testing.T, eps []serviceMonitorPoint, portByName map[string]int32, ports map[string]int32) {
	t.Helper()
	scraped := map[int32]serviceMonitorPoint{}
	for _, ep := range eps {
		p, ok := portByName[ep.Port]
		if !ok {
			t.Errorf("scrape endpoint port %q is not exposed (have %v)", ep.Port, portByName)
			continue
		}
		scraped[p] = ep
	}
	for _, what := range []string{"prometheus exporter", "telemetry"} {
		ep, ok := scraped[ports[what]]
		if !ok {
			t.Errorf("nothing scrapes the %s's port %d", what, ports[what])
			continue
		}
		if want := what == "prometheus exporter"; ep.HonorLabels != want {
			t.Errorf("scrape of the %s: honorLabels %v, want %v", what, ep.HonorLabels, want)
		}
	}
}

func checkEndpoint(t *testing.T, what, endpoint string, svc corev1.Service, port int32) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" {
		t.Errorf("%s = %q: want http://<service>:<port> (plaintext gRPC)", what, endpoint)
		return
	}
	host := strings.SplitN(u.Hostname(), ".", 2)[0]
	if host != svc.Name || u.Port() != strconv.Itoa(int(port)) {
		t.Errorf("%s = %q: want the Service %s on the OTLP/gRPC port %d", what, endpoint, svc.Name, port)
	}
	for _, sp := range svc.Spec.Ports {
		if sp.Port == port {
			return
		}
	}
	t.Errorf("%s: the Service exposes no port %d", what, port)
}

func resolvePort(t *testing.T, p intstr.IntOrString, byName map[string]int32) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	n, ok := byName[p.StrVal]
	if !ok {
		t.Errorf("port %q names no container port", p.StrVal)
	}
	return n
}

func mapValues(m map[string]int32) []int32 {
	out := make([]int32, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestHelmValuesFit checks the chart values against the chart's defaults:
// every port the rendered config listens on is enabled (the health check is
// the chart's own probe port), no port is enabled that nothing listens on
// (the chart's jaeger and zipkin ones), the image's binary is the command,
// and the chart's ServiceMonitor scrapes both metrics ports.
func TestHelmValuesFit(t *testing.T) {
	values := renderChartValues(t)
	listen := listenPorts(t, "helm", values.Config)
	enabled := map[string]int32{}
	for name, p := range values.Ports {
		if p.Enabled {
			enabled[name] = p.ContainerPort
		}
	}
	for what, p := range listen {
		if what == "health_check" {
			continue
		}
		if !slices.Contains(mapValues(enabled), p) {
			t.Errorf("the config's %s listens on %d; no enabled chart port exposes it (enabled: %v)", what, p, enabled)
		}
	}
	for name, p := range enabled {
		if !slices.Contains(mapValues(listen), p) {
			t.Errorf("chart port %s (%d) is enabled but nothing listens on it", name, p)
		}
	}
	if values.Mode != "deployment" || values.Command.Name != "otelcol-dist" || values.Image.Repository == "" {
		t.Errorf("mode %q, command %q, image %q: want deployment, the image's /otelcol-dist, a repository",
			values.Mode, values.Command.Name, values.Image.Repository)
	}
	if !values.ServiceMonitor.Enabled {
		t.Error("the chart's ServiceMonitor is off")
	}
	checkScrapes(t, values.ServiceMonitor.MetricsEndpoints, enabled, listen)
}

// TestOperatorServiceMonitorFits checks deploy/operator's ServiceMonitor
// against the Services the OpenTelemetry Operator makes for the collector
// resource: it names them <name>-collector, labels them with the component
// and a service type, and names the prometheus exporter's port `prometheus`
// and the collector's own metrics port `monitoring` (the operator's
// conventions). Base and monitoring are selected, headless is not; only the
// connector's port honors the series' labels.
func TestOperatorServiceMonitorFits(t *testing.T) {
	var otc openTelemetryCollector
	mustDecode(t, operatorCRPath, &otc)
	var sm serviceMonitor
	mustDecode(t, operatorSMPath, &sm)
	if otc.Spec.Observability.Metrics.EnableMetrics {
		t.Error("enableMetrics makes the operator scrape the prometheus port again, without honorLabels")
	}
	ports := listenPorts(t, "operator", otc.Spec.Config)
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	service := func(typ string) labels.Set {
		return labels.Set{
			"app.kubernetes.io/name":                           otc.Name + "-collector",
			"app.kubernetes.io/component":                      "opentelemetry-collector",
			"app.kubernetes.io/managed-by":                     "opentelemetry-operator",
			"operator.opentelemetry.io/collector-service-type": typ,
		}
	}
	for typ, want := range map[string]bool{"base": true, "monitoring": true, "headless": false} {
		if got := sel.Matches(service(typ)); got != want {
			t.Errorf("selector %v matches the %s Service: %v, want %v", sel, typ, got, want)
		}
	}
	checkScrapes(t, sm.Spec.Endpoints, map[string]int32{
		"prometheus": ports["prometheus exporter"],
		"monitoring": ports["telemetry"],
	}, ports)
}
