extension AllowedIPs {
    /// Adds `prefix` (host bits masked) for `value`. A prefix that is there already moves
    /// to `value` and to the end of its list, as the kernel does.
    public mutating func insert(_ prefix: IPPrefix, value: Value) {
        let v6 = !prefix.address.isIPv4
        let bits = v6 ? 128 : 32
        let cidr = Int32(min(max(prefix.length, 0), bits))
        let key = TrieKey(prefix.address).masked(Int(cidr))
        let slot = slotFor(value)
        let root = v6 ? root6 : root4
        guard root >= 0 else {
            let node = allocate(Node(key: key, cidr: cidr, isV6: v6, slot: slot))
            setRoot(node, v6: v6)
            return
        }
        let (parent, exact) = placement(key, cidr: cidr, root: root)
        if exact {
            let old = nodes[Int(parent)].slot
            if old >= 0 { unlink(parent) } else { count += 1 }
            nodes[Int(parent)].slot = slot
            link(parent)
            if old >= 0 { releaseIfEmpty(old) }
            return
        }
        let newNode = allocate(Node(key: key, cidr: cidr, isV6: v6, slot: slot))
        let down: Int32
        if parent < 0 {
            down = root
        } else {
            let bit = key.bit(Int(nodes[Int(parent)].cidr))
            down = child(parent, bit)
            if down < 0 {
                setChild(parent, bit, newNode)
                return
            }
        }
        let downKey = nodes[Int(down)].key
        let common = Int32(min(Int(cidr), downKey.commonBits(key)))
        if common == cidr {
            // The new prefix sits between `parent` and `down`.
            replace(down, with: newNode)
            setChild(newNode, downKey.bit(Int(cidr)), down)
        } else {
            // The two part ways below `common`: join them with a node that holds no value.
            let join = allocate(Node(key: key.masked(Int(common)), cidr: common, isV6: v6, slot: -1))
            replace(down, with: join)
            setChild(join, downKey.bit(Int(common)), down)
            setChild(join, key.bit(Int(common)), newNode)
        }
    }

    /// Removes `prefix` (host bits masked) if it belongs to `value`; true if it did.
    @discardableResult
    public mutating func remove(_ prefix: IPPrefix, value: Value) -> Bool {
        let v6 = !prefix.address.isIPv4
        let cidr = Int32(min(max(prefix.length, 0), v6 ? 128 : 32))
        let root = v6 ? root6 : root4
        guard root >= 0, let slot = slotOfValue[value] else { return false }
        let (node, exact) = placement(TrieKey(prefix.address).masked(Int(cidr)), cidr: cidr, root: root)
        guard exact, nodes[Int(node)].slot == slot else { return false }
        removeNode(node)
        releaseIfEmpty(slot)
        return true
    }

    /// Removes every prefix of `value`.
    public mutating func removeAll(value: Value) {
        guard let slot = slotOfValue[value] else { return }
        var index = slots[Int(slot)].head
        while index >= 0 {
            let next = nodes[Int(index)].next
            removeNode(index)
            index = next
        }
        releaseIfEmpty(slot)
    }

    /// Removes every prefix of every value.
    public mutating func removeAll() {
        self = AllowedIPs()
    }

    // MARK: Trie surgery

    /// The deepest node on `key`'s path whose prefix contains (`cidr`, `key`), and whether
    /// it is exactly that prefix; -1 when there is none.
    private func placement(_ key: TrieKey, cidr: Int32, root: Int32) -> (Int32, Bool) {
        var index = root
        var parent: Int32 = -1
        while index >= 0 {
            let node = nodes[Int(index)]
            guard node.cidr <= cidr, key.commonBits(node.key) >= node.cidr else { break }
            parent = index
            if node.cidr == cidr { return (index, true) }
            index = key.bit(Int(node.cidr)) == 0 ? node.child0 : node.child1
        }
        return (parent, false)
    }

    /// Takes the value off `index` and drops the node unless it still joins two subtrees;
    /// a node left joining nothing but one subtree goes too, so no empty node remains.
    private mutating func removeNode(_ index: Int32) {
        unlink(index)
        nodes[Int(index)].slot = -1
        count -= 1
        let node = nodes[Int(index)]
        if node.child0 >= 0, node.child1 >= 0 { return }
        let child = node.child0 >= 0 ? node.child0 : node.child1
        replace(index, with: child)
        free(index)
        let parent = node.parent
        guard child < 0, parent >= 0, nodes[Int(parent)].slot < 0 else { return }
        let p = nodes[Int(parent)]
        replace(parent, with: p.child0 >= 0 ? p.child0 : p.child1)
        free(parent)
    }

    private func child(_ index: Int32, _ bit: Int) -> Int32 {
        bit == 0 ? nodes[Int(index)].child0 : nodes[Int(index)].child1
    }

    private mutating func setChild(_ index: Int32, _ bit: Int, _ child: Int32) {
        if bit == 0 { nodes[Int(index)].child0 = child } else { nodes[Int(index)].child1 = child }
        if child >= 0 { nodes[Int(child)].parent = index }
    }

    private mutating func setRoot(_ index: Int32, v6: Bool) {
        if v6 { root6 = index } else { root4 = index }
        if index >= 0 { nodes[Int(index)].parent = -1 }
    }

    /// Puts `new` (or nothing, -1) where `old` hangs in the trie.
    private mutating func replace(_ old: Int32, with new: Int32) {
        let parent = nodes[Int(old)].parent
        if parent < 0 {
            setRoot(new, v6: nodes[Int(old)].isV6)
        } else {
            setChild(parent, nodes[Int(parent)].child0 == old ? 0 : 1, new)
        }
    }

    // MARK: Storage

    /// Stores `node`; a node with a value joins the end of its value's list.
    private mutating func allocate(_ node: Node) -> Int32 {
        let index: Int32
        if let reused = freeNodes.popLast() {
            index = reused
            nodes[Int(index)] = node
        } else {
            index = Int32(nodes.count)
            nodes.append(node)
        }
        if node.slot >= 0 {
            link(index)
            count += 1
        }
        return index
    }

    private mutating func free(_ index: Int32) {
        if nodeCount == 1 {
            // The last node: start again from empty arrays.
            nodes.removeAll(keepingCapacity: true)
            freeNodes.removeAll(keepingCapacity: true)
        } else {
            freeNodes.append(index)
        }
    }

    private mutating func slotFor(_ value: Value) -> Int32 {
        if let slot = slotOfValue[value] { return slot }
        let slot: Int32
        if let reused = freeSlots.popLast() {
            slot = reused
            slots[Int(slot)] = Slot(value: value)
        } else {
            slot = Int32(slots.count)
            slots.append(Slot(value: value))
        }
        slotOfValue[value] = slot
        return slot
    }

    private mutating func releaseIfEmpty(_ slot: Int32) {
        guard slots[Int(slot)].count == 0, let value = slots[Int(slot)].value else { return }
        slotOfValue[value] = nil
        slots[Int(slot)] = Slot()
        freeSlots.append(slot)
    }

    /// Appends node `index` to the list of its slot.
    private mutating func link(_ index: Int32) {
        let slot = Int(nodes[Int(index)].slot)
        let tail = slots[slot].tail
        nodes[Int(index)].previous = tail
        nodes[Int(index)].next = -1
        if tail >= 0 { nodes[Int(tail)].next = index } else { slots[slot].head = index }
        slots[slot].tail = index
        slots[slot].count += 1
    }

    /// Takes node `index` out of the list of its slot.
    private mutating func unlink(_ index: Int32) {
        let node = nodes[Int(index)]
        let slot = Int(node.slot)
        if node.previous >= 0 { nodes[Int(node.previous)].next = node.next } else { slots[slot].head = node.next }
        if node.next >= 0 { nodes[Int(node.next)].previous = node.previous } else { slots[slot].tail = node.previous }
        nodes[Int(index)].previous = -1
        nodes[Int(index)].next = -1
        slots[slot].count -= 1
    }
}
