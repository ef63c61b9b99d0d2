/* nfdp's C shim over DPDK: the fast-path functions DPDK only provides as `static inline`
 * (so bindgen cannot bind them) exported as real symbols, plus the values of macros bindgen
 * cannot evaluate (RTE_BIT64 expressions) and the per-lcore rte_errno. */
#ifndef NFDP_DPDK_SHIM_H
#define NFDP_DPDK_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

uint16_t nfdp_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
			   uint16_t nb_pkts);
uint16_t nfdp_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
			   uint16_t nb_pkts);

struct rte_mbuf *nfdp_pktmbuf_alloc(struct rte_mempool *mp);
/* 0 on success (all `count` allocated), negative when the pool cannot supply them all
 * (then none are allocated). */
int nfdp_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int count);
/* Frees the whole chain (all segments). */
void nfdp_pktmbuf_free(struct rte_mbuf *m);
void nfdp_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned int count);
void nfdp_pktmbuf_reset(struct rte_mbuf *m);

/* rte_pktmbuf_mtod: the first segment's data. */
void *nfdp_pktmbuf_mtod(struct rte_mbuf *m);
uint16_t nfdp_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t nfdp_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t nfdp_pktmbuf_nb_segs(const struct rte_mbuf *m);
uint16_t nfdp_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t nfdp_pktmbuf_tailroom(const struct rte_mbuf *m);
/* Sets data_len and pkt_len of a single-segment mbuf; -1 (nothing changed) if `len` does not
 * fit between the data offset and the end of the buffer. */
int nfdp_pktmbuf_set_len(struct rte_mbuf *m, uint16_t len);
char *nfdp_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
/* The mbuf's whole data buffer (headroom, data and tailroom) and its size: a packet that
 * lives in its mbuf is edited in place there. */
void *nfdp_pktmbuf_buf_addr(struct rte_mbuf *m);
uint16_t nfdp_pktmbuf_buf_len(const struct rte_mbuf *m);
uint16_t nfdp_pktmbuf_data_off(const struct rte_mbuf *m);
/* Places the data of a single-segment mbuf at [off, off + len) of its buffer; -1 (nothing
 * changed) when that does not fit or the mbuf has more than one segment. */
int nfdp_pktmbuf_set_data(struct rte_mbuf *m, uint16_t off, uint16_t len);
/* What receiving a packet reads of its mbuf, in one call: each shim function is a call
 * Rust cannot inline, and rx reads six fields per packet. */
struct nfdp_rx_info {
	void *buf_addr;
	uint64_t ol_flags;
	uint32_t pkt_len;
	uint16_t buf_len;
	uint16_t data_off;
	uint16_t nb_segs;
};
void nfdp_pktmbuf_rx_info(const struct rte_mbuf *m, struct nfdp_rx_info *out);
/* The offload flags (RTE_MBUF_F_RX_*_CKSUM_* on receive). */
uint64_t nfdp_pktmbuf_ol_flags(const struct rte_mbuf *m);
char *nfdp_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
/* Copies `len` bytes from offset `off` of the (possibly multi-segment) packet into `dst`;
 * -1 if the packet is shorter than off + len. */
int nfdp_pktmbuf_copy_out(const struct rte_mbuf *m, uint32_t off, uint32_t len, void *dst);

unsigned int nfdp_lcore_id(void);
int nfdp_errno(void);
void nfdp_prefetch0(const void *p);
/* Prefetches the start of an mbuf's data (one call for mtod and the prefetch). */
void nfdp_prefetch_data(const struct rte_mbuf *m);

/* Macro values bindgen cannot evaluate. */
extern const uint64_t NFDP_ETH_RSS_IP;
extern const uint64_t NFDP_ETH_RSS_TCP;
extern const uint64_t NFDP_ETH_RSS_UDP;
extern const uint64_t NFDP_ETH_RX_OFFLOAD_CHECKSUM;
extern const uint64_t NFDP_ETH_TX_OFFLOAD_IPV4_CKSUM;
extern const uint64_t NFDP_ETH_TX_OFFLOAD_TCP_CKSUM;
extern const uint64_t NFDP_ETH_TX_OFFLOAD_UDP_CKSUM;
extern const uint16_t NFDP_MBUF_DEFAULT_BUF_SIZE;
extern const uint16_t NFDP_PKTMBUF_HEADROOM;
extern const unsigned int NFDP_LCORE_ID_ANY;
extern const uint64_t NFDP_MBUF_F_RX_IP_CKSUM_MASK;
extern const uint64_t NFDP_MBUF_F_RX_IP_CKSUM_GOOD;
extern const uint64_t NFDP_MBUF_F_RX_IP_CKSUM_BAD;
extern const uint64_t NFDP_MBUF_F_RX_L4_CKSUM_MASK;
extern const uint64_t NFDP_MBUF_F_RX_L4_CKSUM_GOOD;
extern const uint64_t NFDP_MBUF_F_RX_L4_CKSUM_BAD;

#endif
