// Package items is the resource server's protected data: the tutorial's Item
// (name, description, price, owner) with its REST endpoints, its SQL store,
// and the owner check the tutorial lacked. Errors on these endpoints use
// Django REST framework's shapes ({"field": ["message"]}, {"detail": "..."}),
// so the tutorial's clients read them unchanged.
package items
