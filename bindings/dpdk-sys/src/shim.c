#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "shim.h"

uint16_t nfdp_eth_rx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **rx_pkts,
			   uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t nfdp_eth_tx_burst(uint16_t port_id, uint16_t queue_id, struct rte_mbuf **tx_pkts,
			   uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *nfdp_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

int nfdp_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void nfdp_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

void nfdp_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned int count)
{
	rte_pktmbuf_free_bulk(mbufs, count);
}

void nfdp_pktmbuf_reset(struct rte_mbuf *m)
{
	rte_pktmbuf_reset(m);
}

void *nfdp_pktmbuf_mtod(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, void *);
}

uint16_t nfdp_pktmbuf_data_len(const struct rte_mbuf *m)
{
	return m->data_len;
}

uint32_t nfdp_pktmbuf_pkt_len(const struct rte_mbuf *m)
{
	return m->pkt_len;
}

uint16_t nfdp_pktmbuf_nb_segs(const struct rte_mbuf *m)
{
	return m->nb_segs;
}

uint16_t nfdp_pktmbuf_headroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_headroom(m);
}

uint16_t nfdp_pktmbuf_tailroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_tailroom(m);
}

int nfdp_pktmbuf_set_len(struct rte_mbuf *m, uint16_t len)
{
	if ((uint32_t)m->data_off + len > m->buf_len)
		return -1;
	m->data_len = len;
	m->pkt_len = len;
	return 0;
}

char *nfdp_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_append(m, len);
}

void *nfdp_pktmbuf_buf_addr(struct rte_mbuf *m)
{
	return m->buf_addr;
}

uint16_t nfdp_pktmbuf_buf_len(const struct rte_mbuf *m)
{
	return m->buf_len;
}

uint16_t nfdp_pktmbuf_data_off(const struct rte_mbuf *m)
{
	return m->data_off;
}

int nfdp_pktmbuf_set_data(struct rte_mbuf *m, uint16_t off, uint16_t len)
{
	if (m->nb_segs != 1 || (uint32_t)off + len > m->buf_len)
		return -1;
	m->data_off = off;
	m->data_len = len;
	m->pkt_len = len;
	return 0;
}

void nfdp_pktmbuf_rx_info(const struct rte_mbuf *m, struct nfdp_rx_info *out)
{
	out->buf_addr = m->buf_addr;
	out->ol_flags = m->ol_flags;
	out->pkt_len = m->pkt_len;
	out->buf_len = m->buf_len;
	out->data_off = m->data_off;
	out->nb_segs = m->nb_segs;
}

uint64_t nfdp_pktmbuf_ol_flags(const struct rte_mbuf *m)
{
	return m->ol_flags;
}

char *nfdp_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_prepend(m, len);
}

int nfdp_pktmbuf_copy_out(const struct rte_mbuf *m, uint32_t off, uint32_t len, void *dst)
{
	const void *p = rte_pktmbuf_read(m, off, len, dst);
	if (p == NULL)
		return -1;
	if (p != dst)
		memcpy(dst, p, len);
	return 0;
}

unsigned int nfdp_lcore_id(void)
{
	return rte_lcore_id();
}

int nfdp_errno(void)
{
	return rte_errno;
}

void nfdp_prefetch_data(const struct rte_mbuf *m)
{
	rte_prefetch0(rte_pktmbuf_mtod(m, const void *));
}

void nfdp_prefetch0(const void *p)
{
	rte_prefetch0(p);
}

const uint64_t NFDP_ETH_RSS_IP = RTE_ETH_RSS_IP;
const uint64_t NFDP_ETH_RSS_TCP = RTE_ETH_RSS_TCP;
const uint64_t NFDP_ETH_RSS_UDP = RTE_ETH_RSS_UDP;
const uint64_t NFDP_ETH_RX_OFFLOAD_CHECKSUM = RTE_ETH_RX_OFFLOAD_CHECKSUM;
const uint64_t NFDP_ETH_TX_OFFLOAD_IPV4_CKSUM = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
const uint64_t NFDP_ETH_TX_OFFLOAD_TCP_CKSUM = RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
const uint64_t NFDP_ETH_TX_OFFLOAD_UDP_CKSUM = RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
const uint16_t NFDP_MBUF_DEFAULT_BUF_SIZE = RTE_MBUF_DEFAULT_BUF_SIZE;
const uint16_t NFDP_PKTMBUF_HEADROOM = RTE_PKTMBUF_HEADROOM;
const unsigned int NFDP_LCORE_ID_ANY = LCORE_ID_ANY;
const uint64_t NFDP_MBUF_F_RX_IP_CKSUM_MASK = RTE_MBUF_F_RX_IP_CKSUM_MASK;
const uint64_t NFDP_MBUF_F_RX_IP_CKSUM_GOOD = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
const uint64_t NFDP_MBUF_F_RX_IP_CKSUM_BAD = RTE_MBUF_F_RX_IP_CKSUM_BAD;
const uint64_t NFDP_MBUF_F_RX_L4_CKSUM_MASK = RTE_MBUF_F_RX_L4_CKSUM_MASK;
const uint64_t NFDP_MBUF_F_RX_L4_CKSUM_GOOD = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
const uint64_t NFDP_MBUF_F_RX_L4_CKSUM_BAD = RTE_MBUF_F_RX_L4_CKSUM_BAD;
