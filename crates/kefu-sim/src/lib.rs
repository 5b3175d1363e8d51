//! The contact-center simulator: Poisson arrivals, handle times and caller patience driving
//! the real ACD router from `kefu-core` in simulated time.
//!
//! Nothing is implemented yet; the ACD issue builds it together with the router.
