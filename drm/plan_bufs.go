package drm

import "sync"

// planBufs are the per-decision lists that grow to the size of the book
// in the window (a thousand entries at 10,000 reservations): kept from
// decision to decision instead of allocated each time, which at 2,000
// decisions a second was most of the garbage the collector ran for.
type planBufs struct {
	peaks  peakScratch
	nodes  []NodeView
	totals []float64
	best   []float64
}

// planFree is the released planBufs, kept off sync.Pool (which a GC
// empties, every ~60 ms at full load) so that their grown lists and the
// node-sized slot array survive; there are never more than the decisions
// that ran at once.
var planFree struct {
	sync.Mutex
	list []*planBufs
}

func takePlanBufs() *planBufs {
	planFree.Lock()
	defer planFree.Unlock()
	if n := len(planFree.list); n > 0 {
		b := planFree.list[n-1]
		planFree.list = planFree.list[:n-1]
		return b
	}
	return new(planBufs)
}

// release returns the buffers to the free list, dropping what they point
// to.
func (b *planBufs) release() {
	clear(b.nodes[:cap(b.nodes)])
	clear(b.peaks.out[:cap(b.peaks.out)])
	b.peaks.out, b.nodes, b.totals, b.best = b.peaks.out[:0], b.nodes[:0], b.totals[:0], b.best[:0]
	planFree.Lock()
	planFree.list = append(planFree.list, b)
	planFree.Unlock()
}

// kthLargest is the k-th largest of vs (1 ≤ k ≤ len(vs)), kept in a
// descending list of k in bufs.
func kthLargest(vs []float64, k int, bufs *planBufs) float64 {
	best := bufs.best[:0]
	for _, v := range vs {
		if len(best) == k && v <= best[k-1] {
			continue
		}
		at := len(best)
		if at == k {
			at--
		} else {
			best = append(best, 0)
		}
		for at > 0 && best[at-1] < v {
			best[at] = best[at-1]
			at--
		}
		best[at] = v
	}
	bufs.best = best
	return best[k-1]
}
