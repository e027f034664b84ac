package framework

import "sync"

// InferenceRequest is the request being scheduled.
type InferenceRequest struct {
	// RequestID identifies the request (x-request-id); may be empty.
	RequestID string
	// TargetModel is the model (or LoRA adapter) the request asks for.
	TargetModel string
	// LoRAAdapter is the adapter to serve the request with, when it differs
	// from TargetModel; empty means TargetModel is the adapter name.
	LoRAAdapter string
	// Prompt is the request's prompt text (chat messages flattened).
	Prompt string
	// Headers are the request headers that plugins read (e.g. the session
	// header of the session-affinity scorer).
	Headers map[string]string
	// Objectives carries the request's scheduling objectives.
	Objectives Objectives

	// data holds per-request plugin state shared between a plugin's Score
	// and its PreRequest (a prefix scorer's block hashes, computed once).
	data []requestData
}

// Objectives are a request's scheduling objectives.
type Objectives struct {
	Priority int
}

type requestData struct {
	key   string
	value any
}

// Adapter returns the LoRA adapter the request needs: LoRAAdapter when set,
// else TargetModel.
func (r *InferenceRequest) Adapter() string {
	if r.LoRAAdapter != "" {
		return r.LoRAAdapter
	}
	return r.TargetModel
}

// Data returns the per-request value a plugin stored under key. Plugins key
// by their TypedName().String() or another string unique to them.
func (r *InferenceRequest) Data(key string) (any, bool) {
	for i := range r.data {
		if r.data[i].key == key {
			return r.data[i].value, true
		}
	}
	return nil, false
}

// SetData stores a per-request value under key, replacing any earlier one.
// A request is scheduled by one goroutine at a time; SetData is not
// synchronized.
func (r *InferenceRequest) SetData(key string, value any) {
	for i := range r.data {
		if r.data[i].key == key {
			r.data[i].value = value
			return
		}
	}
	r.data = append(r.data, requestData{key, value})
}

// Endpoint is a model server a request can be routed to.
type Endpoint interface {
	GetMetadata() *EndpointMetadata
	GetMetrics() *Metrics
	// GetAttributes returns the endpoint's typed attribute store, where data
	// producers leave per-endpoint facts for plugins.
	GetAttributes() *AttributeStore
}

// EndpointMetadata identifies an endpoint.
type EndpointMetadata struct {
	// ID is the namespaced name, "namespace/name".
	ID string
	// Name is the pod name.
	Name string
	// Address is the pod IP.
	Address string
	// Port is the serving port.
	Port int
	// Labels are the pod's labels.
	Labels map[string]string
}

// Metrics is a snapshot of an endpoint's serving metrics.
type Metrics struct {
	// ActiveModels are the models and adapters loaded, with their running counts.
	ActiveModels map[string]int
	// WaitingModels are the adapters requests are waiting for.
	WaitingModels map[string]int
	// MaxActiveModels is how many adapters can be loaded at once.
	MaxActiveModels int
	// RunningRequestsSize is the number of requests running.
	RunningRequestsSize int
	// WaitingQueueSize is the number of requests waiting.
	WaitingQueueSize int
	// KVCacheUsagePercent is the KV-cache usage as a fraction in [0,1].
	KVCacheUsagePercent float64
}

// AttributeStore is an endpoint's typed attribute store: data producers put
// values, plugins read them. It is safe for concurrent use.
type AttributeStore struct {
	mu sync.RWMutex
	m  map[string]any
}

// Put stores v under key.
func (s *AttributeStore) Put(key string, v any) {
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string]any)
	}
	s.m[key] = v
	s.mu.Unlock()
}

// Get returns the value under key.
func (s *AttributeStore) Get(key string) (any, bool) {
	s.mu.RLock()
	v, ok := s.m[key]
	s.mu.RUnlock()
	return v, ok
}

// GetAttribute returns the value under key as a T, and false when it is
// missing or of another type.
func GetAttribute[T any](s *AttributeStore, key string) (T, bool) {
	v, ok := s.Get(key)
	if !ok {
		var zero T
		return zero, false
	}
	t, ok := v.(T)
	return t, ok
}

// SimpleEndpoint is a ready-made Endpoint: metadata, a metrics snapshot and
// an attribute store. Simulators and tests use it; an EPP adapts its own.
type SimpleEndpoint struct {
	Metadata   EndpointMetadata
	Metrics    Metrics
	Attributes AttributeStore
}

// GetMetadata implements Endpoint.
func (e *SimpleEndpoint) GetMetadata() *EndpointMetadata { return &e.Metadata }

// GetMetrics implements Endpoint.
func (e *SimpleEndpoint) GetMetrics() *Metrics { return &e.Metrics }

// GetAttributes implements Endpoint.
func (e *SimpleEndpoint) GetAttributes() *AttributeStore { return &e.Attributes }
