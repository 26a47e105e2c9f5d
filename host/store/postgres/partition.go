package postgres

import "hash/fnv"

// WorkerPartition is the partition_key of a worker in ff_worker_registry
// and ff_worker_registry_event, as FlowFabric computes it: the 64-bit
// FNV-1a hash of the worker instance id's bytes, modulo WorkerPartitions.
func WorkerPartition(workerInstanceID string) int {
	h := fnv.New64a()
	h.Write([]byte(workerInstanceID))
	return int(h.Sum64() % WorkerPartitions)
}
