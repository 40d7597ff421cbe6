package sqlstore

import "slices"

// DistinctIDs returns a sorted copy of ids without repeats, never nil (an empty set).
func DistinctIDs(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []string{}
	}
	return ids
}

// Partition splits ids into those deleted and the others, both in byte order.
func Partition(ids, deleted []string) (in, out []string) {
	deleted = slices.Clone(deleted)
	slices.Sort(deleted)
	for _, id := range ids {
		if _, found := slices.BinarySearch(deleted, id); found {
			in = append(in, id)
		} else {
			out = append(out, id)
		}
	}
	slices.Sort(in)
	slices.Sort(out)
	return in, out
}
