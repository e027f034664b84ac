package fleet

import (
	"fmt"
	"math/rand/v2"
)

// podAlphabet is the alphabet Kubernetes uses for generated name suffixes
// (vowels and look-alike digits left out so that no words form).
const podAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randomSuffix(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = podAlphabet[r.IntN(len(podAlphabet))]
	}
	return string(b)
}

// identities hands out pod names and pod IPs that look like a Deployment's
// pods on a cluster with a 10.0.0.0/8 pod network, never the same twice.
type identities struct {
	r     *rand.Rand
	names map[string]bool
	ips   map[string]bool
}

func newIdentities(r *rand.Rand) *identities {
	return &identities{r: r, names: map[string]bool{}, ips: map[string]bool{}}
}

// replicaSetHash is the pod-template-hash of a Deployment's current ReplicaSet.
func (id *identities) replicaSetHash() string {
	return randomSuffix(id.r, 9)
}

// podName returns "<deployment>-<template hash>-<5 chars>", unique in the fleet.
func (id *identities) podName(deployment, hash string) string {
	for {
		n := deployment + "-" + hash + "-" + randomSuffix(id.r, 5)
		if !id.names[n] {
			id.names[n] = true
			return n
		}
	}
}

// podIP returns an address in 10.0.0.0/8 outside the network and broadcast
// addresses of a /24 node range, unique in the fleet.
func (id *identities) podIP() string {
	for {
		a := fmt.Sprintf("10.%d.%d.%d", id.r.IntN(256), id.r.IntN(256), 2+id.r.IntN(252))
		if !id.ips[a] {
			id.ips[a] = true
			return a
		}
	}
}
