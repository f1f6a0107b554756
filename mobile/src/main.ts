import { createApp } from 'vue'
// Each component from its own module, not through the 'vant' barrel: through it, whatever the
// console imports from Vant would be bundled into this entry too.
import { Button } from 'vant/es/button'
import { Cell } from 'vant/es/cell'
import { CellGroup } from 'vant/es/cell-group'
import { Checkbox } from 'vant/es/checkbox'
import { CheckboxGroup } from 'vant/es/checkbox-group'
import { Empty } from 'vant/es/empty'
import { Field } from 'vant/es/field'
import { Form } from 'vant/es/form'
import { Image as VanImage } from 'vant/es/image'
import { List } from 'vant/es/list'
import { Loading } from 'vant/es/loading'
import { NavBar } from 'vant/es/nav-bar'
import { NoticeBar } from 'vant/es/notice-bar'
import { Progress } from 'vant/es/progress'
import { Radio } from 'vant/es/radio'
import { RadioGroup } from 'vant/es/radio-group'
import { Search } from 'vant/es/search'
import { Stepper } from 'vant/es/stepper'
import { SubmitBar } from 'vant/es/submit-bar'
import { Tab } from 'vant/es/tab'
import { Tabbar } from 'vant/es/tabbar'
import { TabbarItem } from 'vant/es/tabbar-item'
import { Tabs } from 'vant/es/tabs'
import { Tag } from 'vant/es/tag'
import { Uploader } from 'vant/es/uploader'
// Only the styles of the components the app registers (each brings those of what it uses),
// not Vant's whole stylesheet: half the release page's bytes were styles it never shows.
import 'vant/es/button/style/index.mjs'
import 'vant/es/cell/style/index.mjs'
import 'vant/es/cell-group/style/index.mjs'
import 'vant/es/checkbox/style/index.mjs'
import 'vant/es/checkbox-group/style/index.mjs'
import 'vant/es/empty/style/index.mjs'
import 'vant/es/field/style/index.mjs'
import 'vant/es/form/style/index.mjs'
import 'vant/es/image/style/index.mjs'
import 'vant/es/list/style/index.mjs'
import 'vant/es/loading/style/index.mjs'
import 'vant/es/nav-bar/style/index.mjs'
import 'vant/es/notice-bar/style/index.mjs'
import 'vant/es/progress/style/index.mjs'
import 'vant/es/radio/style/index.mjs'
import 'vant/es/radio-group/style/index.mjs'
import 'vant/es/search/style/index.mjs'
import 'vant/es/stepper/style/index.mjs'
import 'vant/es/submit-bar/style/index.mjs'
import 'vant/es/tab/style/index.mjs'
import 'vant/es/tabbar/style/index.mjs'
import 'vant/es/tabbar-item/style/index.mjs'
import 'vant/es/tabs/style/index.mjs'
import 'vant/es/tag/style/index.mjs'
import 'vant/es/uploader/style/index.mjs'
import App from './App.vue'
import { router } from './router'

const app = createApp(App)
for (const c of [
  Button, Cell, CellGroup, Checkbox, CheckboxGroup, Empty, Field, Form, VanImage, List, Loading, NavBar, NoticeBar,
  Progress, Radio, RadioGroup, Search, Stepper, SubmitBar, Tab, Tabbar, TabbarItem, Tabs, Tag, Uploader,
]) {
  app.use(c)
}
app.use(router).mount('#app')

if ('serviceWorker' in navigator && import.meta.env.PROD) {
  navigator.serviceWorker.register('/m/sw.js', { scope: '/m/' }).catch(() => undefined)
}
