// Package netbpf counts every byte a cgroup's sockets send and receive, of
// any protocol (TCP, UDP, ICMP, raw), with two BPF_PROG_TYPE_CGROUP_SKB
// programs attached to a cgroup-v2 directory (one on ingress, one on
// egress). Each program adds skb->len (the IP packet: headers + payload) and
// one packet to its slot of a two-entry BPF array map; Counter.Read reads
// the map. The programs are hand-assembled eBPF instructions loaded with the
// raw bpf(2) syscall, attached through BPF links, so closing the Counter
// detaches them; the programs always return 1 (let the packet pass).
package netbpf
