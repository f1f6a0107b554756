// The offline shell: the app's own files are cached as they are fetched, so the app opens
// without a network and says it is offline; API calls always go to the network.
const CACHE = 'yunyin-shell-v1'
self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(['/m/', '/m/manifest.webmanifest', '/m/icon-192.png'])))
  self.skipWaiting()
})
self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k)))),
  )
  self.clients.claim()
})
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'GET' || !url.pathname.startsWith('/m/')) return
  event.respondWith(
    fetch(event.request)
      .then((resp) => {
        const copy = resp.clone()
        caches.open(CACHE).then((c) => c.put(event.request, copy))
        return resp
      })
      .catch(() => caches.match(event.request).then((hit) => hit || caches.match('/m/'))),
  )
})
