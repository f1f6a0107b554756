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

// Web Push: the server sends {title, body, url, tag, level}. A level-1 alert stays on screen
// until it is acted on; a newer message with the same tag replaces the older one.
self.addEventListener('push', (event) => {
  let msg = {}
  try {
    msg = event.data ? event.data.json() : {}
  } catch {
    msg = { body: event.data ? event.data.text() : '' }
  }
  const options = {
    body: msg.body || '',
    icon: '/m/icon-192.png',
    data: { url: msg.url || '/m/' },
    requireInteraction: msg.level === 1,
  }
  if (msg.tag) Object.assign(options, { tag: String(msg.tag), renotify: true })
  event.waitUntil(self.registration.showNotification(msg.title || '云印', options))
})

// Tapping a notification focuses the app's window already showing its page, or opens it.
// Only the app's own pages: a link elsewhere opens the app's home instead.
self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const home = new URL('/m/', self.location.origin)
  const asked = new URL((event.notification.data && event.notification.data.url) || home, home)
  const target = asked.origin === home.origin ? asked : home
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => w.url === target.href && 'focus' in w)
      return open ? open.focus() : self.clients.openWindow(target.href)
    }),
  )
})
