package web

import (
	"net/url"
	"strconv"
)

// pageSize is how many rows an admin list shows per page, as Django's
// list_per_page.
const pageSize = 100

// pager is the numbered paging of a list, as Django's admin shows it:
// "page X of Y", the pages around the current one, the first and the
// last two, and previous/next only when they lead somewhere.
type pager struct {
	Page, Pages, Total int
	Links              []pageLink
	Prev, Next         string
}

// pageLink is one numbered page; Gap is an ellipsis.
type pageLink struct {
	N       int
	URL     string
	Current bool
	Gap     bool
}

// parsePage reads ?page: missing is 1; ok is false for anything that is
// not a positive number.
func parsePage(raw string) (int, bool) {
	if raw == "" {
		return 1, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// newPager pages total rows at size a page, page being the current one;
// ok is false when page is past the last (an empty list has one page).
func newPager(total, size, page int, base string, q url.Values) (pager, bool) {
	pages := max((total+size-1)/size, 1)
	if page > pages {
		return pager{}, false
	}
	link := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Del("page")
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	}
	p := pager{Page: page, Pages: pages, Total: total}
	if pages > 1 {
		last := 0
		for n := 1; n <= pages; n++ {
			if n > 2 && n < pages-1 && (n < page-2 || n > page+2) {
				continue
			}
			if last != 0 && n != last+1 {
				p.Links = append(p.Links, pageLink{Gap: true})
			}
			p.Links = append(p.Links, pageLink{N: n, URL: link(n), Current: n == page})
			last = n
		}
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < pages {
		p.Next = link(page + 1)
	}
	return p, true
}
