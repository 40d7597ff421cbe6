package sqlstore

import "slices"

// DistinctIDs returns the ids once each, in byte order, never nil (a database takes it as an
// empty set). ids is not changed.
func DistinctIDs(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []string{}
	}
	return ids
}

// Partition splits ids (each once) into those a deletion returned and the others, both in byte
// order: the Deleted and Unknown of a store.CustomerDeletion, or the Deleted and Kept of a
// store.OrganizationDeletion.
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
